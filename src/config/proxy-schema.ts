import { bool, int, MAX_TIMER_MS, MAX_TIMER_SECONDS, port, str, type SchemaNode } from './schema-engine.js';
import { proxySsoSchema } from './sso-schema.js';

/** `[[proxies]]` and `[[visitors]]` as frp's TOML names them (FRP-PROTOCOL.md §9.4, §9.5). */
export const PROXY_TYPES = ['tcp', 'udp', 'http', 'https', 'tcpmux', 'stcp', 'sudp', 'xtcp'] as const;
export const VISITOR_TYPES = ['stcp', 'sudp', 'xtcp'] as const;
export const CLIENT_PLUGIN_TYPES = [
  'http_proxy',
  'socks5',
  'static_file',
  'unix_domain_socket',
  'http2https',
  'http2http',
  'https2http',
  'https2https',
  'tls2raw',
  'virtual_net',
] as const;

const headerOps = { kind: 'object', optional: true, fields: { set: { kind: 'stringMap' } } } as const satisfies SchemaNode;

const HTTP_REWRITERS = ['http2https', 'http2http', 'https2http', 'https2https'] as const;
const TLS_TERMINATORS = ['https2http', 'https2https', 'tls2raw'] as const;

/** Present fields follow `type`, as for proxies (e.g. `unixPath` only for unix_domain_socket). */
export const clientPluginSchema = {
  kind: 'object',
  optional: true,
  required: ['type'],
  fields: {
    type: { kind: 'string', oneOf: CLIENT_PLUGIN_TYPES },
    localAddr: str(),
    hostHeaderRewrite: str(),
    requestHeaders: headerOps,
    crtPath: str(),
    keyPath: str(),
    enableHTTP2: bool(true),
    httpUser: str(),
    httpPassword: str(),
    username: str(),
    password: str(),
    localPath: str(),
    stripPrefix: str(),
    unixPath: str(),
  },
  variant: {
    key: 'type',
    label: 'plugin type',
    only: {
      localAddr: [...HTTP_REWRITERS, 'tls2raw'],
      hostHeaderRewrite: HTTP_REWRITERS,
      requestHeaders: HTTP_REWRITERS,
      crtPath: TLS_TERMINATORS,
      keyPath: TLS_TERMINATORS,
      enableHTTP2: ['https2http', 'https2https'],
      httpUser: ['http_proxy', 'static_file'],
      httpPassword: ['http_proxy', 'static_file'],
      username: ['socks5'],
      password: ['socks5'],
      localPath: ['static_file'],
      stripPrefix: ['static_file'],
      unixPath: ['unix_domain_socket'],
    },
  },
} as const satisfies SchemaNode;

const DOMAIN_TYPES = ['http', 'https', 'tcpmux'] as const;
const SECRET_TYPES = ['stcp', 'sudp', 'xtcp'] as const;
const XTCP = ['xtcp'] as const;

/**
 * One proxy. Its type is ONE object type, not a discriminated union, so code
 * written for tcp keeps reading `p.remotePort` and `p.localPort` on any proxy.
 * The per-type fields (`variant.only`) are present, with their default filled
 * in, exactly when the proxy's `type` accepts them — e.g. `customDomains`
 * exists on http/https/tcpmux proxies and is absent on tcp ones. Optional
 * blocks shared by all types (`healthCheck`, `plugin`, `loadBalancer`,
 * `metadatas`, `annotations`, `transport.bandwidthLimit`, …) are present only
 * when the file sets them. `remotePort` is the one exception: load fills it
 * with 0 for the types without one (see ProxyConfig in types.ts).
 */
export const proxySchema = {
  kind: 'object',
  required: ['name'],
  fields: {
    name: { kind: 'string' },
    type: { kind: 'string', default: 'tcp', oneOf: PROXY_TYPES },
    enabled: bool(true),
    localIP: str('127.0.0.1'),
    /** 0 only when a plugin serves the connections */
    localPort: port(0),
    /** tcp/udp: the public port, 0 = the server picks; other types: 0 after load */
    remotePort: port(0, 0),
    annotations: { kind: 'stringMap', optional: true },
    metadatas: { kind: 'stringMap', optional: true },
    /** burrow's own: source addresses (IPs, CIDR blocks) a user connection may come from; a burrow server enforces them */
    allowIPs: { kind: 'stringList', optional: true },
    /** burrow's own: source addresses whose user connections a burrow server closes */
    denyIPs: { kind: 'stringList', optional: true },
    transport: {
      kind: 'object',
      fields: {
        useEncryption: bool(),
        useCompression: bool(),
        /** "1MB", "100KB"; absent = unlimited */
        bandwidthLimit: {
          kind: 'string',
          optional: true,
          pattern: /^\d+(\.\d+)?(MB|KB)$/,
          patternHint: 'a size like "1MB" or "100KB"',
        },
        /** absent = "client" */
        bandwidthLimitMode: { kind: 'string', optional: true, default: 'client', oneOf: ['client', 'server'] },
        /** absent = no PROXY protocol header */
        proxyProtocolVersion: { kind: 'string', optional: true, oneOf: ['v1', 'v2'] },
      },
    },
    loadBalancer: { kind: 'object', optional: true, fields: { group: str(), groupKey: str() } },
    healthCheck: {
      kind: 'object',
      optional: true,
      fields: {
        /** "" = no health check */
        type: { kind: 'string', default: '', oneOf: ['', 'tcp', 'http'] },
        timeoutSeconds: int(3, 1, MAX_TIMER_SECONDS),
        maxFailed: int(1, 1),
        intervalSeconds: int(10, 1, MAX_TIMER_SECONDS),
        path: str(),
        httpHeaders: {
          kind: 'list',
          item: { kind: 'object', required: ['name'], fields: { name: str(), value: str() } },
        },
      },
    },
    /** when present it replaces localIP/localPort */
    plugin: clientPluginSchema,
    customDomains: { kind: 'stringList' },
    subdomain: str(),
    locations: { kind: 'stringList' },
    httpUser: str(),
    httpPassword: str(),
    hostHeaderRewrite: str(),
    requestHeaders: headerOps,
    responseHeaders: headerOps,
    routeByHTTPUser: str(),
    /** http: record each request and response for the inspector (burrow's own key) */
    inspect: bool(),
    /** http: an OIDC login before any request reaches the service (burrow's own; needs a burrow server) */
    sso: proxySsoSchema,
    multiplexer: { kind: 'string', oneOf: ['httpconnect'] },
    secretKey: str(),
    allowUsers: { kind: 'stringList' },
    natTraversal: { kind: 'object', fields: { disableAssistedAddrs: bool() } },
  },
  variant: {
    key: 'type',
    label: 'type',
    only: {
      remotePort: ['tcp', 'udp'],
      customDomains: DOMAIN_TYPES,
      subdomain: DOMAIN_TYPES,
      locations: ['http'],
      httpUser: ['http', 'tcpmux'],
      httpPassword: ['http', 'tcpmux'],
      routeByHTTPUser: ['http', 'tcpmux'],
      hostHeaderRewrite: ['http'],
      requestHeaders: ['http'],
      responseHeaders: ['http'],
      inspect: ['http'],
      sso: ['http'],
      multiplexer: ['tcpmux'],
      secretKey: SECRET_TYPES,
      allowUsers: SECRET_TYPES,
      natTraversal: ['xtcp'],
    },
  },
} as const satisfies SchemaNode;

export const visitorSchema = {
  kind: 'object',
  required: ['name', 'type', 'serverName'],
  fields: {
    name: { kind: 'string' },
    type: { kind: 'string', oneOf: VISITOR_TYPES },
    enabled: bool(true),
    /** the proxy to reach, without its owner's user prefix */
    serverName: str(),
    /** the proxy owner's `user`; empty = our own */
    serverUser: str(),
    secretKey: str(),
    bindAddr: str('127.0.0.1'),
    /** negative = no listener (only reached through other visitors), as frp */
    bindPort: { kind: 'int', default: 0, max: 65535 },
    transport: { kind: 'object', fields: { useEncryption: bool(), useCompression: bool() } },
    plugin: {
      kind: 'object',
      optional: true,
      required: ['type'],
      fields: { type: { kind: 'string', oneOf: ['virtual_net'] }, destinationIP: str() },
    },
    protocol: { kind: 'string', default: 'quic', oneOf: ['quic', 'kcp'] },
    keepTunnelOpen: bool(),
    maxRetriesAnHour: int(8, 0),
    minRetryInterval: int(90, 0, MAX_TIMER_SECONDS),
    fallbackTo: str(),
    fallbackTimeoutMs: int(1000, 0, MAX_TIMER_MS),
    natTraversal: { kind: 'object', fields: { disableAssistedAddrs: bool() } },
  },
  variant: {
    key: 'type',
    label: 'type',
    /** xtcp only: present exactly on xtcp visitors */
    only: {
      protocol: XTCP,
      keepTunnelOpen: XTCP,
      maxRetriesAnHour: XTCP,
      minRetryInterval: XTCP,
      fallbackTo: XTCP,
      fallbackTimeoutMs: XTCP,
      natTraversal: XTCP,
    },
  },
} as const satisfies SchemaNode;
