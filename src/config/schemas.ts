import { proxySchema, visitorSchema } from './proxy-schemas.js';
import { MAX_TIMER_SECONDS, type SchemaNode } from './schema.js';

/** Key names and defaults as frp's TOML format (FRP-PROTOCOL.md §9.2, §9.3). */
const str = (def = ''): SchemaNode => ({ kind: 'string', default: def });
const bool = (def = false): SchemaNode => ({ kind: 'bool', default: def });
const port = (def: number, min = 1): SchemaNode => ({ kind: 'int', default: def, min, max: 65535 });
const seconds = (def: number): SchemaNode => ({ kind: 'int', default: def, max: MAX_TIMER_SECONDS });
const count = (def: number, max?: number): SchemaNode => ({ kind: 'int', default: def, min: 0, max });

export const AUTH_SCOPES = ['HeartBeats', 'NewWorkConns'] as const;

/** `auth.tokenSource`: a value read from somewhere else than the file (frp supports `file`). */
const valueSource: SchemaNode = {
  kind: 'object',
  optional: true,
  required: ['type'],
  fields: {
    type: { kind: 'string', oneOf: ['file'] },
    file: { kind: 'object', required: ['path'], fields: { path: str() } },
  },
};

const authBase = {
  method: { kind: 'string', default: 'token', oneOf: ['token', 'oidc'] },
  token: str(),
  tokenSource: valueSource,
  additionalScopes: { kind: 'stringList', oneOf: AUTH_SCOPES },
} satisfies Record<string, SchemaNode>;

const serverAuth: SchemaNode = {
  kind: 'object',
  fields: {
    ...authBase,
    /** burrow's own: seconds a signed timestamp may be off the server clock; 0 = no check (as frp) */
    maxClockSkew: { kind: 'int', default: 900, min: 0, max: 86_400 },
    /** burrow's own: start on a non-loopback address with an empty token anyway */
    allowEmptyToken: bool(),
    oidc: {
      kind: 'object',
      fields: { issuer: str(), audience: str(), skipExpiryCheck: bool(), skipIssuerCheck: bool() },
    },
  },
};

const clientAuth: SchemaNode = {
  kind: 'object',
  fields: {
    ...authBase,
    oidc: {
      kind: 'object',
      fields: {
        clientID: str(),
        clientSecret: str(),
        audience: str(),
        scope: str(),
        tokenEndpointURL: str(),
        additionalEndpointParams: { kind: 'stringMap' },
        trustedCaFile: str(),
        insecureSkipVerify: bool(),
        proxyURL: str(),
        tokenSource: valueSource,
      },
    },
  },
};

const log: SchemaNode = {
  kind: 'object',
  fields: {
    to: str('console'),
    level: { kind: 'string', default: 'info', oneOf: ['trace', 'debug', 'info', 'warn', 'error'] },
    maxDays: { kind: 'int', default: 3, min: 0 },
    disablePrintColor: bool(),
  },
};

const quic: SchemaNode = {
  kind: 'object',
  fields: {
    keepalivePeriod: seconds(10),
    maxIdleTimeout: seconds(30),
    maxIncomingStreams: count(100000),
  },
};

const tlsFiles = { certFile: str(), keyFile: str(), trustedCaFile: str() } satisfies Record<string, SchemaNode>;

/** frps dashboard / frpc admin API; `tls` present only when configured (HTTPS). */
const webServer: SchemaNode = {
  kind: 'object',
  fields: {
    addr: str('127.0.0.1'),
    port: port(0, 0),
    user: str(),
    password: str(),
    assetsDir: str(),
    pprofEnable: bool(),
    tls: { kind: 'object', optional: true, fields: tlsFiles },
  },
};

const httpPlugin: SchemaNode = {
  kind: 'object',
  required: ['name', 'addr', 'path', 'ops'],
  fields: {
    name: str(),
    addr: str(),
    path: str(),
    ops: {
      kind: 'stringList',
      oneOf: ['Login', 'NewProxy', 'CloseProxy', 'Ping', 'NewWorkConn', 'NewUserConn'],
    },
    tlsVerify: bool(),
  },
};

export const serverSchema: SchemaNode = {
  kind: 'object',
  fields: {
    bindAddr: str('0.0.0.0'),
    bindPort: port(7000, 0),
    kcpBindPort: port(0, 0),
    quicBindPort: port(0, 0),
    proxyBindAddr: str(),
    vhostHTTPPort: port(0, 0),
    vhostHTTPSPort: port(0, 0),
    vhostHTTPTimeout: seconds(60),
    tcpmuxHTTPConnectPort: port(0, 0),
    tcpmuxPassthrough: bool(),
    subDomainHost: str(),
    custom404Page: str(),
    auth: serverAuth,
    transport: {
      kind: 'object',
      fields: {
        tcpMux: bool(true),
        tcpMuxKeepaliveInterval: seconds(30),
        tcpKeepalive: seconds(7200),
        maxPoolCount: count(5, 1000),
        heartbeatTimeout: seconds(-1),
        quic,
        /** generatedCertDir is burrow's own: where the certificate made when certFile is empty is kept across restarts */
        tls: { kind: 'object', fields: { force: bool(), ...tlsFiles, generatedCertDir: str() } },
      },
    },
    webServer,
    /** burrow's own bounds on what an unauthenticated peer may hold, on the bind port and the vhosts (not in frp) */
    limits: {
      kind: 'object',
      fields: {
        loginTimeout: { kind: 'int', default: 10, min: 1, max: 3600 },
        preAuthStreams: { kind: 'int', default: 8, min: 1, max: 4096 },
        preAuthPerIP: { kind: 'int', default: 32, min: 1, max: 1_000_000 },
        preAuthTotal: { kind: 'int', default: 1024, min: 1, max: 1_000_000 },
        controlQueueBytes: { kind: 'int', default: 1024 * 1024, min: 64 * 1024, max: 1024 * 1024 * 1024 },
        vhostHeaderTimeout: { kind: 'int', default: 60, min: 1, max: 3600 },
        vhostIdleTimeout: { kind: 'int', default: 60, min: 1, max: 3600 },
        vhostConnsPerIP: { kind: 'int', default: 256, min: 0, max: 1_000_000 },
        vhostConnsTotal: { kind: 'int', default: 4096, min: 1, max: 1_000_000 },
      },
    },
    enablePrometheus: bool(),
    log,
    detailedErrorsToClient: bool(true),
    maxPortsPerClient: count(0),
    userConnTimeout: { kind: 'int', default: 10, min: 1, max: MAX_TIMER_SECONDS },
    udpPacketSize: { kind: 'int', default: 1500, min: 1, max: 65535 },
    natholeAnalysisDataReserveHours: count(168),
    allowPorts: { kind: 'portRanges' },
    httpPlugins: { kind: 'list', item: httpPlugin },
    sshTunnelGateway: {
      kind: 'object',
      fields: {
        bindPort: port(0, 0),
        privateKeyFile: str(),
        autoGenPrivateKeyPath: str('./.autogen_ssh_key'),
        authorizedKeysFile: str(),
      },
    },
  },
};

export const clientSchema: SchemaNode = {
  kind: 'object',
  fields: {
    serverAddr: str('0.0.0.0'),
    serverPort: port(7000),
    user: str(),
    clientID: str(),
    natHoleStunServer: str('stun.easyvoip.com:3478'),
    dnsServer: str(),
    auth: clientAuth,
    loginFailExit: bool(true),
    start: { kind: 'stringList' },
    udpPacketSize: { kind: 'int', default: 1500, min: 1, max: 65535 },
    metadatas: { kind: 'stringMap' },
    includes: { kind: 'stringList' },
    transport: {
      kind: 'object',
      fields: {
        protocol: { kind: 'string', default: 'tcp', oneOf: ['tcp', 'kcp', 'quic', 'websocket', 'wss'] },
        wireProtocol: { kind: 'string', default: 'v1', oneOf: ['v1', 'v2'] },
        dialServerTimeout: seconds(10),
        dialServerKeepalive: seconds(7200),
        connectServerLocalIP: str(),
        /** empty = the `http_proxy` environment variable, read when dialing (as frp) */
        proxyURL: str(),
        poolCount: count(1, 1000),
        tcpMux: bool(true),
        tcpMuxKeepaliveInterval: seconds(30),
        heartbeatInterval: seconds(-1),
        heartbeatTimeout: seconds(-1),
        quic,
        tls: {
          kind: 'object',
          fields: {
            enable: bool(true),
            disableCustomTLSFirstByte: bool(true),
            serverName: str(),
            ...tlsFiles,
            /** burrow's own: the server certificate's SHA-256, which must match */
            serverFingerprint: {
              kind: 'string',
              default: '',
              pattern: /^(sha256:([0-9a-f]{2}:?){31}[0-9a-f]{2})?$/i,
              patternHint: '"sha256:" and the 32-byte SHA-256 of the server certificate in hex, e.g. "sha256:AB:CD:…" as `burrow server` prints it at start',
            },
          },
        },
      },
    },
    webServer,
    log,
    featureGates: { kind: 'boolMap' },
    virtualNet: { kind: 'object', fields: { address: str() } },
    store: { kind: 'object', fields: { path: str() } },
    /** burrow's own: the HTTP inspector of proxies with `inspect = true` */
    inspect: {
      kind: 'object',
      fields: {
        store: str(),
        maxExchanges: { kind: 'int', default: 500, min: 1, max: 100_000 },
        maxBodyBytes: { kind: 'int', default: 1024 * 1024, min: 0, max: 64 * 1024 * 1024 },
        maxStoreBytes: { kind: 'int', default: 64 * 1024 * 1024, min: 64 * 1024, max: 4 * 1024 * 1024 * 1024 },
      },
    },
    proxies: { kind: 'list', item: proxySchema },
    visitors: { kind: 'list', item: visitorSchema },
  },
};
