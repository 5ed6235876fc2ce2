import type { FlagSpec } from './frp-flags.js';

/**
 * frp's flags (pkg/config/flags.go, cmd/frpc/sub/*.go, cmd/frps/*.go) and the
 * config key each one sets. Names are written with dashes; frp's underscore
 * spellings are the same flags. A flag without a `path` is handled by the
 * command itself.
 */

/** frpc's root flags; they apply to every frpc subcommand too. */
export const FRPC_ROOT_FLAGS: readonly FlagSpec[] = [
  { name: 'config', short: 'c', kind: 'string' },
  { name: 'config-dir', kind: 'string' },
  { name: 'version', short: 'v', kind: 'bool' },
  { name: 'strict-config', kind: 'bool' },
  { name: 'allow-unsafe', kind: 'list' },
  { name: 'help', short: 'h', kind: 'bool' },
];

/** The server connection of `frpc tcp|udp|…` (no config file). */
export const FRPC_COMMON_FLAGS: readonly FlagSpec[] = [
  { name: 'server-addr', short: 's', kind: 'string', path: 'serverAddr' },
  { name: 'server-port', short: 'P', kind: 'int', path: 'serverPort' },
  { name: 'protocol', short: 'p', kind: 'string', path: 'transport.protocol' },
  { name: 'log-level', kind: 'string', path: 'log.level' },
  { name: 'log-file', kind: 'string', path: 'log.to' },
  { name: 'log-max-days', kind: 'int', path: 'log.maxDays' },
  { name: 'disable-log-color', kind: 'bool', path: 'log.disablePrintColor' },
  { name: 'tls-server-name', kind: 'string', path: 'transport.tls.serverName' },
  { name: 'dns-server', kind: 'string', path: 'dnsServer' },
  { name: 'tls-enable', kind: 'bool', path: 'transport.tls.enable' },
  { name: 'user', short: 'u', kind: 'string', path: 'user' },
  { name: 'client-id', kind: 'string', path: 'clientID' },
  { name: 'token', short: 't', kind: 'string', path: 'auth.token' },
];

/** frp's flag defaults where they differ from the file's (frpc's -s is 127.0.0.1, a file's serverAddr 0.0.0.0). */
export const FRPC_COMMON_DEFAULTS: Readonly<Record<string, unknown>> = { serverAddr: '127.0.0.1' };

const PROXY_BASE: readonly FlagSpec[] = [
  { name: 'proxy-name', short: 'n', kind: 'string', path: 'name' },
  { name: 'metadatas', kind: 'map', path: 'metadatas' },
  { name: 'annotations', kind: 'map', path: 'annotations' },
  { name: 'local-ip', short: 'i', kind: 'string', path: 'localIP' },
  { name: 'local-port', short: 'l', kind: 'int', path: 'localPort' },
  { name: 'ue', kind: 'bool', path: 'transport.useEncryption' },
  { name: 'uc', kind: 'bool', path: 'transport.useCompression' },
  { name: 'bandwidth-limit-mode', kind: 'string', path: 'transport.bandwidthLimitMode' },
  { name: 'bandwidth-limit', kind: 'string', path: 'transport.bandwidthLimit' },
];

const REMOTE_PORT: FlagSpec = { name: 'remote-port', short: 'r', kind: 'int', path: 'remotePort' };
const DOMAINS: readonly FlagSpec[] = [
  { name: 'custom-domain', short: 'd', kind: 'list', path: 'customDomains' },
  { name: 'sd', kind: 'string', path: 'subdomain' },
];
const HTTP_AUTH: readonly FlagSpec[] = [
  { name: 'http-user', kind: 'string', path: 'httpUser' },
  { name: 'http-pwd', kind: 'string', path: 'httpPassword' },
];
const SECRET: readonly FlagSpec[] = [
  { name: 'sk', kind: 'string', path: 'secretKey' },
  { name: 'allow-users', kind: 'list', path: 'allowUsers' },
];

/** The proxy flags of each `frpc <type>` command. */
export const FRPC_PROXY_FLAGS: Readonly<Record<string, readonly FlagSpec[]>> = {
  tcp: [...PROXY_BASE, REMOTE_PORT],
  udp: [...PROXY_BASE, REMOTE_PORT],
  tcpmux: [...PROXY_BASE, ...DOMAINS, { name: 'mux', kind: 'string', path: 'multiplexer' }, ...HTTP_AUTH],
  http: [
    ...PROXY_BASE,
    ...DOMAINS,
    { name: 'locations', kind: 'list', path: 'locations' },
    ...HTTP_AUTH,
    { name: 'host-header-rewrite', kind: 'string', path: 'hostHeaderRewrite' },
  ],
  https: [...PROXY_BASE, ...DOMAINS],
  stcp: [...PROXY_BASE, ...SECRET],
  sudp: [...PROXY_BASE, ...SECRET],
  xtcp: [...PROXY_BASE, ...SECRET],
};

/** `frpc stcp|sudp|xtcp visitor`. */
export const FRPC_VISITOR_FLAGS: readonly FlagSpec[] = [
  { name: 'visitor-name', short: 'n', kind: 'string', path: 'name' },
  { name: 'ue', kind: 'bool', path: 'transport.useEncryption' },
  { name: 'uc', kind: 'bool', path: 'transport.useCompression' },
  { name: 'sk', kind: 'string', path: 'secretKey' },
  { name: 'server-name', kind: 'string', path: 'serverName' },
  { name: 'server-user', kind: 'string', path: 'serverUser' },
  { name: 'bind-addr', kind: 'string', path: 'bindAddr' },
  { name: 'bind-port', kind: 'int', path: 'bindPort' },
];

/** `frpc reload|status|stop`. */
export const FRPC_ADMIN_FLAGS: readonly FlagSpec[] = [{ name: 'api-timeout', kind: 'duration' }];

export const FRPS_ROOT_FLAGS: readonly FlagSpec[] = [
  { name: 'config', short: 'c', kind: 'string' },
  { name: 'version', short: 'v', kind: 'bool' },
  { name: 'strict-config', kind: 'bool' },
  { name: 'allow-unsafe', kind: 'list' },
  { name: 'help', short: 'h', kind: 'bool' },
];

/** frps's server flags: used when no -c is given (frps ignores them with a file). */
export const FRPS_SERVER_FLAGS: readonly FlagSpec[] = [
  { name: 'bind-addr', kind: 'string', path: 'bindAddr' },
  { name: 'bind-port', short: 'p', kind: 'int', path: 'bindPort' },
  { name: 'kcp-bind-port', kind: 'int', path: 'kcpBindPort' },
  { name: 'quic-bind-port', kind: 'int', path: 'quicBindPort' },
  { name: 'proxy-bind-addr', kind: 'string', path: 'proxyBindAddr' },
  { name: 'vhost-http-port', kind: 'int', path: 'vhostHTTPPort' },
  { name: 'vhost-https-port', kind: 'int', path: 'vhostHTTPSPort' },
  { name: 'vhost-http-timeout', kind: 'int', path: 'vhostHTTPTimeout' },
  { name: 'dashboard-addr', kind: 'string', path: 'webServer.addr' },
  { name: 'dashboard-port', kind: 'int', path: 'webServer.port' },
  { name: 'dashboard-user', kind: 'string', path: 'webServer.user' },
  { name: 'dashboard-pwd', kind: 'string', path: 'webServer.password' },
  { name: 'enable-prometheus', kind: 'bool', path: 'enablePrometheus' },
  { name: 'log-file', kind: 'string', path: 'log.to' },
  { name: 'log-level', kind: 'string', path: 'log.level' },
  { name: 'log-max-days', kind: 'int', path: 'log.maxDays' },
  { name: 'disable-log-color', kind: 'bool', path: 'log.disablePrintColor' },
  { name: 'token', short: 't', kind: 'string', path: 'auth.token' },
  { name: 'subdomain-host', kind: 'string', path: 'subDomainHost' },
  { name: 'allow-ports', kind: 'string', path: 'allowPorts' },
  { name: 'max-ports-per-client', kind: 'int', path: 'maxPortsPerClient' },
  { name: 'tls-only', kind: 'bool', path: 'transport.tls.force' },
  { name: 'dashboard-tls-cert-file', kind: 'string' },
  { name: 'dashboard-tls-key-file', kind: 'string' },
  { name: 'dashboard-tls-mode', kind: 'bool' },
];

/**
 * frps's flag defaults where they differ from the file's: the dashboard
 * listens on every address with admin/admin, and proxies bind 0.0.0.0 even
 * when --bind-addr is set.
 */
export const FRPS_FLAG_DEFAULTS: Readonly<Record<string, unknown>> = {
  proxyBindAddr: '0.0.0.0',
  webServer: { addr: '0.0.0.0', user: 'admin', password: 'admin' },
};
