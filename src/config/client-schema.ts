import { authBase, logSchema, quicSchema, tlsFiles, valueSource, webServerSchema } from './common-schema.js';
import { proxySchema, visitorSchema } from './proxy-schema.js';
import { bool, count, port, seconds, str, type SchemaNode } from './schema-engine.js';

/** The client file (frpc), key names and defaults as frp's TOML format (FRP-PROTOCOL.md §9.3). */

const clientAuth = {
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
} as const satisfies SchemaNode;

export const clientSchema = {
  kind: 'object',
  fields: {
    serverAddr: str('0.0.0.0'),
    serverPort: port(7000),
    /**
     * burrow's own: several nodes of one cluster, "host:port" each, to hold a
     * session with at once; the first takes serverAddr/serverPort's place
     */
    serverAddrs: { kind: 'stringList' },
    user: str(),
    clientID: str(),
    natHoleStunServer: str('stun.easyvoip.com:3478'),
    dnsServer: str(),
    auth: clientAuth,
    loginFailExit: bool(true),
    /** names of the proxies/visitors to run; empty = all */
    start: { kind: 'stringList' },
    udpPacketSize: { kind: 'int', default: 1500, min: 1, max: 65535 },
    metadatas: { kind: 'stringMap' },
    /** as written; after load their proxies and visitors are already merged into the lists below */
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
        quic: quicSchema,
        tls: {
          kind: 'object',
          fields: {
            enable: bool(true),
            disableCustomTLSFirstByte: bool(true),
            serverName: str(),
            ...tlsFiles,
            /** burrow's own: the server certificate's SHA-256 (`sha256:AB:CD:…`), which must match; '' = not pinned */
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
    webServer: webServerSchema,
    log: logSchema,
    featureGates: { kind: 'boolMap' },
    virtualNet: { kind: 'object', fields: { address: str() } },
    store: { kind: 'object', fields: { path: str() } },
    /** burrow's own: the HTTP inspector of proxies with `inspect = true`; `store` empty = memory only */
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
} as const satisfies SchemaNode;
