/**
 * INI key → TOML path, from FRP-PROTOCOL.md §9.6. The kind of each value
 * (number, boolean, list) is read from the TOML schema at the target path, so
 * these tables only name keys. Keys handled by code rather than by a plain
 * rename are listed in the SPECIAL sets.
 */
export type KeyTable = Readonly<Record<string, string>>;

const LOG: KeyTable = {
  log_file: 'log.to',
  log_level: 'log.level',
  log_max_days: 'log.maxDays',
  disable_log_color: 'log.disablePrintColor',
};

const QUIC: KeyTable = {
  quic_keepalive_period: 'transport.quic.keepalivePeriod',
  quic_max_idle_timeout: 'transport.quic.maxIdleTimeout',
  quic_max_incoming_streams: 'transport.quic.maxIncomingStreams',
};

const TLS_FILES: KeyTable = {
  tls_cert_file: 'transport.tls.certFile',
  tls_key_file: 'transport.tls.keyFile',
  tls_trusted_ca_file: 'transport.tls.trustedCaFile',
};

export const SERVER_COMMON_KEYS: KeyTable = {
  bind_addr: 'bindAddr',
  bind_port: 'bindPort',
  kcp_bind_port: 'kcpBindPort',
  quic_bind_port: 'quicBindPort',
  proxy_bind_addr: 'proxyBindAddr',
  vhost_http_port: 'vhostHTTPPort',
  vhost_https_port: 'vhostHTTPSPort',
  vhost_http_timeout: 'vhostHTTPTimeout',
  tcpmux_httpconnect_port: 'tcpmuxHTTPConnectPort',
  tcpmux_passthrough: 'tcpmuxPassthrough',
  subdomain_host: 'subDomainHost',
  custom_404_page: 'custom404Page',
  dashboard_addr: 'webServer.addr',
  dashboard_port: 'webServer.port',
  dashboard_user: 'webServer.user',
  dashboard_pwd: 'webServer.password',
  assets_dir: 'webServer.assetsDir',
  enable_prometheus: 'enablePrometheus',
  ...LOG,
  detailed_errors_to_client: 'detailedErrorsToClient',
  authentication_method: 'auth.method',
  token: 'auth.token',
  allow_empty_token: 'auth.allowEmptyToken',
  oidc_issuer: 'auth.oidc.issuer',
  oidc_audience: 'auth.oidc.audience',
  oidc_skip_expiry_check: 'auth.oidc.skipExpiryCheck',
  oidc_skip_issuer_check: 'auth.oidc.skipIssuerCheck',
  tcp_mux: 'transport.tcpMux',
  tcp_mux_keepalive_interval: 'transport.tcpMuxKeepaliveInterval',
  tcp_keepalive: 'transport.tcpKeepalive',
  heartbeat_timeout: 'transport.heartbeatTimeout',
  max_pool_count: 'transport.maxPoolCount',
  max_ports_per_client: 'maxPortsPerClient',
  allow_ports: 'allowPorts',
  user_conn_timeout: 'userConnTimeout',
  tls_only: 'transport.tls.force',
  ...TLS_FILES,
  tls_generated_cert_dir: 'transport.tls.generatedCertDir',
  ...QUIC,
  udp_packet_size: 'udpPacketSize',
  nat_hole_analysis_data_reserve_hours: 'natholeAnalysisDataReserveHours',
  // burrow's automatic HTTPS, for those who keep a legacy frps.ini
  acme_email: 'acme.email',
  acme_directory: 'acme.directory',
  acme_storage: 'acme.storage',
  acme_domains: 'acme.domains',
  acme_challenges: 'acme.challenges',
  acme_redirect_http: 'acme.redirectHTTP',
  acme_renew_before_days: 'acme.renewBeforeDays',
  acme_trusted_ca_file: 'acme.trustedCaFile',
  acme_dns01_hook: 'acme.dns01Hook',
};

/** Read by code: dashboard TLS and pprof travel together, scopes become a list. */
export const SERVER_COMMON_SPECIAL = new Set([
  'dashboard_tls_mode',
  'dashboard_tls_cert_file',
  'dashboard_tls_key_file',
  'pprof_enable',
  'authenticate_heartbeats',
  'authenticate_new_work_conns',
]);

export const CLIENT_COMMON_KEYS: KeyTable = {
  server_addr: 'serverAddr',
  server_port: 'serverPort',
  user: 'user',
  token: 'auth.token',
  authentication_method: 'auth.method',
  oidc_client_id: 'auth.oidc.clientID',
  oidc_client_secret: 'auth.oidc.clientSecret',
  oidc_audience: 'auth.oidc.audience',
  oidc_scope: 'auth.oidc.scope',
  oidc_token_endpoint_url: 'auth.oidc.tokenEndpointURL',
  pool_count: 'transport.poolCount',
  tcp_mux: 'transport.tcpMux',
  tcp_mux_keepalive_interval: 'transport.tcpMuxKeepaliveInterval',
  protocol: 'transport.protocol',
  dial_server_timeout: 'transport.dialServerTimeout',
  dial_server_keepalive: 'transport.dialServerKeepalive',
  connect_server_local_ip: 'transport.connectServerLocalIP',
  http_proxy: 'transport.proxyURL',
  tls_enable: 'transport.tls.enable',
  disable_custom_tls_first_byte: 'transport.tls.disableCustomTLSFirstByte',
  ...TLS_FILES,
  tls_server_name: 'transport.tls.serverName',
  tls_server_fingerprint: 'transport.tls.serverFingerprint',
  heartbeat_interval: 'transport.heartbeatInterval',
  heartbeat_timeout: 'transport.heartbeatTimeout',
  ...QUIC,
  login_fail_exit: 'loginFailExit',
  admin_addr: 'webServer.addr',
  admin_port: 'webServer.port',
  admin_user: 'webServer.user',
  admin_pwd: 'webServer.password',
  assets_dir: 'webServer.assetsDir',
  pprof_enable: 'webServer.pprofEnable',
  ...LOG,
  dns_server: 'dnsServer',
  start: 'start',
  nat_hole_stun_server: 'natHoleStunServer',
  udp_packet_size: 'udpPacketSize',
  includes: 'includes',
  inspect_store: 'inspect.store',
  inspect_max_exchanges: 'inspect.maxExchanges',
  inspect_max_body_bytes: 'inspect.maxBodyBytes',
  inspect_max_store_bytes: 'inspect.maxStoreBytes',
};

export const CLIENT_COMMON_SPECIAL = new Set(['authenticate_heartbeats', 'authenticate_new_work_conns']);

/** Keys frp's INI reader accepts and then drops. */
export const IGNORED_KEYS = new Set(['log_way']);

export const PROXY_KEYS: KeyTable = {
  type: 'type',
  local_ip: 'localIP',
  local_port: 'localPort',
  remote_port: 'remotePort',
  use_encryption: 'transport.useEncryption',
  use_compression: 'transport.useCompression',
  bandwidth_limit: 'transport.bandwidthLimit',
  bandwidth_limit_mode: 'transport.bandwidthLimitMode',
  proxy_protocol_version: 'transport.proxyProtocolVersion',
  group: 'loadBalancer.group',
  group_key: 'loadBalancer.groupKey',
  health_check_type: 'healthCheck.type',
  health_check_url: 'healthCheck.path',
  health_check_timeout_s: 'healthCheck.timeoutSeconds',
  health_check_max_failed: 'healthCheck.maxFailed',
  health_check_interval_s: 'healthCheck.intervalSeconds',
  custom_domains: 'customDomains',
  subdomain: 'subdomain',
  locations: 'locations',
  http_user: 'httpUser',
  http_pwd: 'httpPassword',
  host_header_rewrite: 'hostHeaderRewrite',
  route_by_http_user: 'routeByHTTPUser',
  inspect: 'inspect',
  multiplexer: 'multiplexer',
  sk: 'secretKey',
  allow_users: 'allowUsers',
  plugin: 'plugin.type',
  plugin_local_addr: 'plugin.localAddr',
  plugin_host_header_rewrite: 'plugin.hostHeaderRewrite',
  plugin_crt_path: 'plugin.crtPath',
  plugin_key_path: 'plugin.keyPath',
  plugin_http_user: 'plugin.httpUser',
  plugin_http_passwd: 'plugin.httpPassword',
  plugin_user: 'plugin.username',
  plugin_passwd: 'plugin.password',
  plugin_local_path: 'plugin.localPath',
  plugin_strip_prefix: 'plugin.stripPrefix',
  plugin_unix_path: 'plugin.unixPath',
};

export const VISITOR_KEYS: KeyTable = {
  type: 'type',
  use_encryption: 'transport.useEncryption',
  use_compression: 'transport.useCompression',
  sk: 'secretKey',
  server_user: 'serverUser',
  server_name: 'serverName',
  bind_addr: 'bindAddr',
  bind_port: 'bindPort',
  protocol: 'protocol',
  keep_tunnel_open: 'keepTunnelOpen',
  max_retries_an_hour: 'maxRetriesAnHour',
  min_retry_interval: 'minRetryInterval',
  fallback_to: 'fallbackTo',
  fallback_timeout_ms: 'fallbackTimeoutMs',
};

/** `[plugin.NAME]` sections of frps.ini; the key is spelled `tlsVerify` there too. */
export const HTTP_PLUGIN_KEYS: KeyTable = { addr: 'addr', path: 'path', ops: 'ops', tlsVerify: 'tlsVerify' };

/** Prefix maps: `meta_k = v` → `metadatas.k = v` and the like. */
export interface PrefixMap {
  prefix: string;
  to: string;
}

export const CLIENT_COMMON_PREFIXES: readonly PrefixMap[] = [
  { prefix: 'meta_', to: 'metadatas' },
  { prefix: 'oidc_additional_', to: 'auth.oidc.additionalEndpointParams' },
];

export const PROXY_PREFIXES: readonly PrefixMap[] = [
  { prefix: 'meta_', to: 'metadatas' },
  { prefix: 'header_', to: 'requestHeaders.set' },
  { prefix: 'plugin_header_', to: 'plugin.requestHeaders.set' },
];

/** Keys from frp releases older than the INI tables above, with what replaced them. */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  privilege_token: 'token',
  privilege_allow_ports: 'allow_ports',
  auth_token: 'token',
};

/** The INI spelling of a TOML path, for error messages (first match wins). */
export function reverseKey(tables: readonly KeyTable[], prefixes: readonly PrefixMap[], path: string): string | undefined {
  for (const table of tables) {
    for (const [ini, toml] of Object.entries(table)) if (toml === path) return ini;
  }
  for (const p of prefixes) if (path.startsWith(`${p.to}.`)) return p.prefix + path.slice(p.to.length + 1);
  return undefined;
}
