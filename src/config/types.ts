import type { PortRange } from './schema.js';

export type { PortRange };

/**
 * The validated, frozen configuration objects. Key names are frp's TOML names,
 * whatever format the file was written in (INI keys are mapped on load).
 *
 * Proxies and visitors are ONE interface each, not a discriminated union, so
 * code written for tcp keeps reading `p.remotePort` and `p.localPort` on any
 * proxy. The per-type fields are optional and follow one rule:
 * a field is present (with its default filled in) exactly when the proxy's
 * `type` accepts it — e.g. `customDomains` exists on http/https/tcpmux proxies
 * and is absent on tcp ones. Optional blocks shared by all types
 * (`healthCheck`, `plugin`, `loadBalancer`, `metadatas`, `annotations`,
 * `transport.bandwidthLimit`, …) are present only when the file sets them.
 * `remotePort` is the one exception: always present, 0 for types without one.
 */

export type ProxyType = 'tcp' | 'udp' | 'http' | 'https' | 'tcpmux' | 'stcp' | 'sudp' | 'xtcp';
export type VisitorType = 'stcp' | 'sudp' | 'xtcp';
export type AuthScope = 'HeartBeats' | 'NewWorkConns';
export type ClientPluginType =
  | 'http_proxy'
  | 'socks5'
  | 'static_file'
  | 'unix_domain_socket'
  | 'http2https'
  | 'http2http'
  | 'https2http'
  | 'https2https'
  | 'tls2raw'
  | 'virtual_net';

export interface TlsServerSettings {
  force: boolean;
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  /** burrow's own; '' = the generated certificate lives in memory only (a new one each start) */
  generatedCertDir: string;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
}

/** A value read from elsewhere; burrow resolves it into `auth.token` on load. */
export interface ValueSource {
  type: 'file';
  file: { path: string };
}

export interface LogSettings {
  to: string;
  level: string;
  maxDays: number;
  disablePrintColor: boolean;
}

export interface QuicSettings {
  keepalivePeriod: number;
  maxIdleTimeout: number;
  maxIncomingStreams: number;
}

export interface WebServerSettings {
  addr: string;
  /** 0 = no dashboard / admin API */
  port: number;
  user: string;
  password: string;
  assetsDir: string;
  pprofEnable: boolean;
  /** present = serve HTTPS */
  tls?: TlsFiles;
}

export interface HttpPluginSettings {
  name: string;
  addr: string;
  path: string;
  ops: string[];
  tlsVerify: boolean;
}

/** burrow-only bounds on the public side (bind port and vhosts); frp has no equivalents. */
export interface ServerLimits {
  /** seconds a new connection has to complete a Login (or, without tcpMux, a first accepted message) */
  loginTimeout: number;
  /** yamux streams one connection may open before its Login succeeded */
  preAuthStreams: number;
  /** connections not yet logged in, per source address */
  preAuthPerIP: number;
  /** connections not yet logged in, all addresses together */
  preAuthTotal: number;
  /** bytes queued unsent on one control connection before it is closed */
  controlQueueBytes: number;
  /** seconds from a vhost connection's first byte (or its accept) to the end of its request head / ClientHello / CONNECT */
  vhostHeaderTimeout: number;
  /** seconds a keep-alive vhost connection may wait, silent, for its next request */
  vhostIdleTimeout: number;
  /** open connections from one source address over all vhost ports (IPv6: per /64); 0 = no per-address cap */
  vhostConnsPerIP: number;
  /** open connections over all vhost ports together */
  vhostConnsTotal: number;
}

export interface ServerConfig {
  bindAddr: string;
  bindPort: number;
  kcpBindPort: number;
  quicBindPort: number;
  /** where tcp proxy listeners bind; empty in the file = bindAddr */
  proxyBindAddr: string;
  /** 0 = disabled */
  vhostHTTPPort: number;
  vhostHTTPSPort: number;
  vhostHTTPTimeout: number;
  tcpmuxHTTPConnectPort: number;
  tcpmuxPassthrough: boolean;
  subDomainHost: string;
  custom404Page: string;
  auth: {
    method: 'token' | 'oidc';
    /** after load: the token from `tokenSource` when one is configured */
    token: string;
    tokenSource?: ValueSource;
    additionalScopes: AuthScope[];
    /** seconds a Login (and scoped NewWorkConn/Ping) timestamp may differ from the server clock; 0 = off */
    maxClockSkew: number;
    /** burrow's own: an empty token is refused on a non-loopback bindAddr unless this is set */
    allowEmptyToken: boolean;
    oidc: { issuer: string; audience: string; skipExpiryCheck: boolean; skipIssuerCheck: boolean };
  };
  transport: {
    tcpMux: boolean;
    tcpMuxKeepaliveInterval: number;
    tcpKeepalive: number;
    maxPoolCount: number;
    /** seconds; <= 0 disables; -1 = frp default (off with tcpMux, 90 s without) */
    heartbeatTimeout: number;
    quic: QuicSettings;
    /** `force` is true after load when `trustedCaFile` is set, as frp */
    tls: TlsServerSettings;
  };
  webServer: WebServerSettings;
  limits: ServerLimits;
  enablePrometheus: boolean;
  log: LogSettings;
  detailedErrorsToClient: boolean;
  maxPortsPerClient: number;
  userConnTimeout: number;
  udpPacketSize: number;
  natholeAnalysisDataReserveHours: number;
  allowPorts: PortRange[];
  httpPlugins: HttpPluginSettings[];
  sshTunnelGateway: { bindPort: number; privateKeyFile: string; autoGenPrivateKeyPath: string; authorizedKeysFile: string };
}

export interface HeaderOperations {
  set: Record<string, string>;
}

export interface ProxyTransportSettings {
  useEncryption: boolean;
  useCompression: boolean;
  /** "1MB", "100KB"; absent = unlimited */
  bandwidthLimit?: string;
  /** absent = "client" */
  bandwidthLimitMode?: 'client' | 'server';
  /** absent = no PROXY protocol header */
  proxyProtocolVersion?: 'v1' | 'v2';
}

export interface HealthCheckSettings {
  /** "" = no health check */
  type: '' | 'tcp' | 'http';
  timeoutSeconds: number;
  maxFailed: number;
  intervalSeconds: number;
  path: string;
  httpHeaders: { name: string; value: string }[];
}

/** Present fields follow `type`, as for proxies (e.g. `unixPath` only for unix_domain_socket). */
export interface ClientPluginSettings {
  type: ClientPluginType;
  localAddr?: string;
  hostHeaderRewrite?: string;
  requestHeaders?: HeaderOperations;
  crtPath?: string;
  keyPath?: string;
  enableHTTP2?: boolean;
  httpUser?: string;
  httpPassword?: string;
  username?: string;
  password?: string;
  localPath?: string;
  stripPrefix?: string;
  unixPath?: string;
}

export interface ProxyConfig {
  name: string;
  type: ProxyType;
  enabled: boolean;
  localIP: string;
  /** 0 only when a plugin serves the connections */
  localPort: number;
  /** tcp/udp: the public port, 0 = the server picks; other types: always 0 */
  remotePort: number;
  transport: ProxyTransportSettings;
  annotations?: Record<string, string>;
  metadatas?: Record<string, string>;
  loadBalancer?: { group: string; groupKey: string };
  healthCheck?: HealthCheckSettings;
  /** when present it replaces localIP/localPort */
  plugin?: ClientPluginSettings;
  /** http, https, tcpmux */
  customDomains?: string[];
  subdomain?: string;
  /** http */
  locations?: string[];
  hostHeaderRewrite?: string;
  requestHeaders?: HeaderOperations;
  responseHeaders?: HeaderOperations;
  /** http, tcpmux */
  httpUser?: string;
  httpPassword?: string;
  routeByHTTPUser?: string;
  /** http: record each request and response for the inspector (burrow's own key) */
  inspect?: boolean;
  /** tcpmux */
  multiplexer?: 'httpconnect';
  /** stcp, sudp, xtcp */
  secretKey?: string;
  allowUsers?: string[];
  /** xtcp */
  natTraversal?: { disableAssistedAddrs: boolean };
}

export interface VisitorConfig {
  name: string;
  type: VisitorType;
  enabled: boolean;
  /** the proxy to reach, without its owner's user prefix */
  serverName: string;
  /** the proxy owner's `user`; empty = our own */
  serverUser: string;
  secretKey: string;
  bindAddr: string;
  /** negative = no listener (reached only through other visitors) */
  bindPort: number;
  transport: { useEncryption: boolean; useCompression: boolean };
  plugin?: { type: 'virtual_net'; destinationIP: string };
  /** xtcp only (present exactly on xtcp visitors) */
  protocol?: 'quic' | 'kcp';
  keepTunnelOpen?: boolean;
  maxRetriesAnHour?: number;
  minRetryInterval?: number;
  fallbackTo?: string;
  fallbackTimeoutMs?: number;
  natTraversal?: { disableAssistedAddrs: boolean };
}

export interface ClientConfig {
  serverAddr: string;
  serverPort: number;
  user: string;
  clientID: string;
  natHoleStunServer: string;
  dnsServer: string;
  auth: {
    method: 'token' | 'oidc';
    /** after load: the token from `tokenSource` when one is configured */
    token: string;
    tokenSource?: ValueSource;
    additionalScopes: AuthScope[];
    oidc: {
      clientID: string;
      clientSecret: string;
      audience: string;
      scope: string;
      tokenEndpointURL: string;
      additionalEndpointParams: Record<string, string>;
      trustedCaFile: string;
      insecureSkipVerify: boolean;
      proxyURL: string;
      tokenSource?: ValueSource;
    };
  };
  loginFailExit: boolean;
  /** names of the proxies/visitors to run; empty = all */
  start: string[];
  udpPacketSize: number;
  metadatas: Record<string, string>;
  /** as written; their proxies and visitors are already merged into the lists below */
  includes: string[];
  transport: {
    protocol: string;
    wireProtocol: 'v1' | 'v2';
    dialServerTimeout: number;
    dialServerKeepalive: number;
    connectServerLocalIP: string;
    /** empty = the `http_proxy` environment variable, read when dialing (as frp) */
    proxyURL: string;
    poolCount: number;
    tcpMux: boolean;
    tcpMuxKeepaliveInterval: number;
    heartbeatInterval: number;
    heartbeatTimeout: number;
    quic: QuicSettings;
    tls: {
      enable: boolean;
      disableCustomTLSFirstByte: boolean;
      serverName: string;
      certFile: string;
      keyFile: string;
      trustedCaFile: string;
      /** burrow's own: `sha256:AB:CD:…`, '' = not pinned */
      serverFingerprint: string;
    };
  };
  webServer: WebServerSettings;
  log: LogSettings;
  featureGates: Record<string, boolean>;
  virtualNet: { address: string };
  store: { path: string };
  /** burrow's HTTP inspector: where exchanges persist (empty = memory only) and its bounds */
  inspect: { store: string; maxExchanges: number; maxBodyBytes: number; maxStoreBytes: number };
  proxies: ProxyConfig[];
  visitors: VisitorConfig[];
}
