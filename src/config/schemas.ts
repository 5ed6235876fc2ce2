import type { SchemaNode } from './schema.js';

/** Key names and defaults as frp's TOML format (FRP-PROTOCOL.md §9). */
const port = (def: number, min = 1): SchemaNode => ({ kind: 'int', default: def, min, max: 65535 });
const seconds = (def: number): SchemaNode => ({ kind: 'int', default: def });

const auth: SchemaNode = {
  kind: 'object',
  fields: {
    method: { kind: 'string', default: 'token', oneOf: ['token'] },
    token: { kind: 'string', default: '' },
    additionalScopes: { kind: 'stringList' },
  },
};

const log: SchemaNode = {
  kind: 'object',
  fields: {
    to: { kind: 'string', default: 'console' },
    level: { kind: 'string', default: 'info', oneOf: ['trace', 'debug', 'info', 'warn', 'error'] },
    maxDays: { kind: 'int', default: 3, min: 0 },
    disablePrintColor: { kind: 'bool' },
  },
};

export const serverSchema: SchemaNode = {
  kind: 'object',
  fields: {
    bindAddr: { kind: 'string', default: '0.0.0.0' },
    bindPort: port(7000, 0),
    proxyBindAddr: { kind: 'string', default: '' },
    auth,
    transport: {
      kind: 'object',
      fields: {
        tcpMux: { kind: 'bool', default: true },
        tcpMuxKeepaliveInterval: seconds(30),
        tcpKeepalive: seconds(7200),
        maxPoolCount: { kind: 'int', default: 5, min: 0, max: 1000 },
        heartbeatTimeout: seconds(-1),
        tls: {
          kind: 'object',
          fields: {
            force: { kind: 'bool' },
            certFile: { kind: 'string' },
            keyFile: { kind: 'string' },
            trustedCaFile: { kind: 'string' },
          },
        },
      },
    },
    maxPortsPerClient: { kind: 'int', default: 0, min: 0 },
    userConnTimeout: { kind: 'int', default: 10, min: 1 },
    allowPorts: { kind: 'portRanges' },
    detailedErrorsToClient: { kind: 'bool', default: true },
    log,
  },
};

const proxy: SchemaNode = {
  kind: 'object',
  required: ['name', 'localPort'],
  fields: {
    name: { kind: 'string' },
    type: { kind: 'string', default: 'tcp', oneOf: ['tcp'] },
    enabled: { kind: 'bool', default: true },
    localIP: { kind: 'string', default: '127.0.0.1' },
    localPort: port(0),
    remotePort: port(0, 0),
    transport: {
      kind: 'object',
      fields: {
        useEncryption: { kind: 'bool' },
        useCompression: { kind: 'bool' },
      },
    },
  },
};

export const clientSchema: SchemaNode = {
  kind: 'object',
  fields: {
    serverAddr: { kind: 'string', default: '0.0.0.0' },
    serverPort: port(7000),
    user: { kind: 'string' },
    clientID: { kind: 'string' },
    auth,
    loginFailExit: { kind: 'bool', default: true },
    start: { kind: 'stringList' },
    transport: {
      kind: 'object',
      fields: {
        protocol: { kind: 'string', default: 'tcp', oneOf: ['tcp', 'kcp', 'quic', 'websocket', 'wss'] },
        dialServerTimeout: seconds(10),
        dialServerKeepalive: seconds(7200),
        connectServerLocalIP: { kind: 'string' },
        poolCount: { kind: 'int', default: 1, min: 0, max: 1000 },
        tcpMux: { kind: 'bool', default: true },
        tcpMuxKeepaliveInterval: seconds(30),
        heartbeatInterval: seconds(-1),
        heartbeatTimeout: seconds(-1),
        tls: {
          kind: 'object',
          fields: {
            enable: { kind: 'bool', default: true },
            disableCustomTLSFirstByte: { kind: 'bool', default: true },
            serverName: { kind: 'string' },
            certFile: { kind: 'string' },
            keyFile: { kind: 'string' },
            trustedCaFile: { kind: 'string' },
          },
        },
      },
    },
    log,
    proxies: { kind: 'list', item: proxy },
  },
};
