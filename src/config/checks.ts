import { checkServerAddrs } from './server-addrs.js';
import { isPlainObject, type ProblemSink } from './schema-engine.js';
import { parseRedisTarget } from './redis-url.js';
import { parseProxyUrl } from '../transport/proxy-url.js';
import { dnsServerAddress } from '../transport/resolve.js';
import { describeError } from '../util/errors.js';
import { domainGlob, expiryInstant, trafficBytes } from './account-terms.js';
import { bandwidthBytes } from '../protocol/bandwidth-quantity.js';
import { IpRules } from '../util/ip-rules.js';
import { refuseUnsupportedClient, refuseUnsupportedServer } from './unsupported.js';
import { checkServerSso, checkSsoProvider } from './sso-checks.js';
import { unsafeRefusal } from './value-source.js';
import type { ClientPluginType, ServerConfig, UserAccountConfig, ValidatedClientConfig, ValidatedProxyConfig, VisitorConfig } from './types.js';

/**
 * Rules that span several keys, run after the schema filled the defaults.
 * Decisions where frp leaves room:
 * - stcp/sudp/xtcp without `secretKey` load (frp accepts them) but warn: anyone
 *   who knows the proxy name could reach the service.
 * - `plugin` together with `localPort` loads (the plugin serves the
 *   connections, frp ignores localIP/localPort) and warns; frp still health
 *   checks that port, so a health check without one warns that it is off.
 * - `plugin` on udp/sudp loads and warns: frp ignores it there (plugins serve
 *   byte streams) and relays datagrams to localPort, so localPort is required.
 * - `plugin.type = "virtual_net"` loads with a warning (frp's own example file
 *   has one) and that proxy is refused when it starts, naming the key: it needs
 *   a TUN device, which burrow does not create.
 * - `auth.method = "oidc"` needs `auth.oidc.issuer` on the server (frp exits
 *   at start without one) and the client-credentials keys frp requires on the
 *   client, unless `auth.oidc.tokenSource` gives the token.
 */
export interface CheckSinks {
  error: ProblemSink;
  warn: ProblemSink;
}

const PLUGIN_NEEDS: Partial<Record<ClientPluginType, 'localAddr' | 'localPath' | 'unixPath'>> = {
  http2https: 'localAddr',
  http2http: 'localAddr',
  https2http: 'localAddr',
  https2https: 'localAddr',
  tls2raw: 'localAddr',
  static_file: 'localPath',
  unix_domain_socket: 'unixPath',
};

interface AuthLike {
  method: string;
  token: string;
  tokenSource?: { type: string };
}

function checkAuth(auth: AuthLike, { error }: CheckSinks, allowUnsafe: readonly string[]): void {
  if (auth.token !== '' && auth.tokenSource !== undefined) {
    error('auth.tokenSource', 'cannot be set together with auth.token; keep one of them');
  }
  if (auth.tokenSource?.type === 'exec' && !allowUnsafe.includes('TokenSourceExec')) {
    error('auth.tokenSource.type', unsafeRefusal('TokenSourceExec'));
  }
}

function checkOidcServer(oidc: ServerConfig['auth']['oidc'], { error }: CheckSinks): void {
  if (oidc.issuer === '') error('auth.oidc.issuer', 'required when auth.method is "oidc"');
  else if (!/^https?:\/\/[^/]/.test(oidc.issuer)) error('auth.oidc.issuer', `must be an http or https URL, got "${oidc.issuer}"`);
}

/** frp's rules for the client side of OIDC (validation/client.go, oidc.go), each at its key. */
function checkOidcClient(auth: ValidatedClientConfig['auth'], sinks: CheckSinks, allowUnsafe: readonly string[]): void {
  const { error } = sinks;
  const oidc = auth.oidc;
  if (oidc.tokenSource) {
    const others =
      oidc.clientID ||
      oidc.clientSecret ||
      oidc.audience ||
      oidc.scope ||
      oidc.tokenEndpointURL ||
      oidc.trustedCaFile ||
      oidc.insecureSkipVerify ||
      oidc.proxyURL;
    if (others || Object.keys(oidc.additionalEndpointParams).length > 0) error('auth.oidc.tokenSource', 'cannot be set together with other auth.oidc keys');
    if (oidc.tokenSource.type === 'exec' && !allowUnsafe.includes('TokenSourceExec')) error('auth.oidc.tokenSource.type', unsafeRefusal('TokenSourceExec'));
    return;
  }
  if (auth.method !== 'oidc') return;
  if (oidc.clientID === '') error('auth.oidc.clientID', 'required when auth.method is "oidc" (or set auth.oidc.tokenSource)');
  if (oidc.tokenEndpointURL === '') error('auth.oidc.tokenEndpointURL', 'required when auth.method is "oidc" (or set auth.oidc.tokenSource)');
  else if (!/^https?:\/\/[^/]/.test(oidc.tokenEndpointURL)) error('auth.oidc.tokenEndpointURL', 'must be an absolute http or https URL');
  if ('scope' in oidc.additionalEndpointParams) error('auth.oidc.additionalEndpointParams.scope', 'is not allowed; use auth.oidc.scope instead');
  if (oidc.audience !== '' && 'audience' in oidc.additionalEndpointParams) {
    error('auth.oidc.additionalEndpointParams.audience', 'cannot be set together with auth.oidc.audience');
  }
  if (oidc.proxyURL !== '') tryParse('auth.oidc.proxyURL', () => parseProxyUrl(oidc.proxyURL), sinks);
}

function tryParse(key: string, parse: () => unknown, sinks: CheckSinks): void {
  try {
    parse();
  } catch (err) {
    sinks.error(key, describeError(err));
  }
}

/** A certificate without its key (or the reverse) cannot be used on either side. */
function checkCertPair(tls: { certFile: string; keyFile: string }, sinks: CheckSinks): void {
  if ((tls.certFile === '') !== (tls.keyFile === '')) {
    sinks.error(
      `transport.tls.${tls.certFile === '' ? 'certFile' : 'keyFile'}`,
      `required together with transport.tls.${tls.certFile === '' ? 'keyFile' : 'certFile'}`,
    );
  }
}

export function checkServer(cfg: ServerConfig, sinks: CheckSinks, allowUnsafe: readonly string[] = []): void {
  checkAuth(cfg.auth, sinks, allowUnsafe);
  if (cfg.auth.method === 'oidc') checkOidcServer(cfg.auth.oidc, sinks);
  refuseUnsupportedServer(cfg, sinks.error);
  const tls = cfg.webServer.tls;
  if (tls && (tls.certFile === '' || tls.keyFile === '')) {
    sinks.error(`webServer.tls.${tls.certFile === '' ? 'certFile' : 'keyFile'}`, 'required when webServer.tls is set');
  }
  checkCertPair(cfg.transport.tls, sinks);
  checkAcme(cfg, sinks);
  checkCluster(cfg.cluster, sinks);
  const seen = new Set<string>();
  cfg.httpPlugins.forEach((p, i) => {
    if (seen.has(p.name)) sinks.error(`httpPlugins[${i}].name`, `duplicate plugin name "${p.name}"`);
    seen.add(p.name);
    // frp finds a bad address only when it first asks the plugin (and then refuses that login); say so at load.
    const url = `${p.addr}${p.path}`;
    if (!URL.canParse(/^https?:\/\//.test(url) ? url : `http://${url}`))
      sinks.error(`httpPlugins[${i}].addr`, `"${p.addr}" with path "${p.path}" is not a valid URL`);
  });
  checkUsers(cfg, sinks);
  checkIpLists(cfg.allowIPs, cfg.denyIPs, '', sinks);
  checkServerSso(cfg, sinks.error);
}

/** `allowIPs` / `denyIPs` (a server's, or a proxy's under `at`): each entry an address or CIDR block. */
function checkIpLists(allow: readonly string[] | undefined, deny: readonly string[] | undefined, at: string, { error }: CheckSinks): void {
  for (const [key, list] of [
    ['allowIPs', allow],
    ['denyIPs', deny],
  ] as const) {
    try {
      IpRules.from(list, []);
    } catch (err) {
      error(`${at}${key}`, describeError(err));
    }
  }
}

/** `[[users]]`: one readable error per bad value, named by its place (`users[2].allowPorts`). */
function checkUsers(cfg: ServerConfig, { error }: CheckSinks): void {
  // The users' tokens are what a login is checked against: with OIDC there is nothing to check them with.
  if ((cfg.users.length > 0 || cfg.usersFile !== '') && cfg.auth.method !== 'token') error('users', 'per-user tokens need auth.method = "token"');
  const seen = new Set<string>();
  cfg.users.forEach((u, i) => {
    const at = `users[${i}]`;
    if (seen.has(u.name)) error(`${at}.name`, `duplicate user name "${u.name}"`);
    seen.add(u.name);
    checkUserEntry(u, cfg.auth.token, (key, message) => error(`${at}.${key}`, message));
  });
}

/**
 * One account's values, each problem named by its key within the entry
 * (`maxProxies`): the config's check, and the dashboard's before it writes.
 */
export function checkUserEntry(u: UserAccountConfig, globalToken: string, error: (key: string, message: string) => void): void {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(u.name)) error('name', `"${u.name}" is not a user name (1–64 letters, digits, "_", ".", "@", "-")`);
  if (u.token !== '' && u.tokenFile !== '') error('tokenFile', 'cannot be set together with token; keep one of them');
  if (u.token === '' && u.tokenFile === '') error('token', 'required (or tokenFile): a listed user logs in with a token of their own');
  if (u.token !== '' && u.token === globalToken) error('token', 'must differ from auth.token, which this user may not use');
  for (const [key, parse] of [
    ['bandwidthLimit', bandwidthBytes],
    ['trafficQuota', trafficBytes],
    ['expires', expiryInstant],
  ] as const) {
    try {
      parse(u[key]);
    } catch (err) {
      error(key, describeError(err));
    }
  }
  u.allowDomains.forEach((g, j) => {
    try {
      domainGlob(g);
    } catch (err) {
      error(`allowDomains[${j}]`, describeError(err));
    }
  });
}

export function checkClient(cfg: ValidatedClientConfig, raw: unknown, sinks: CheckSinks, allowUnsafe: readonly string[] = []): void {
  const { error, warn } = sinks;
  checkAuth(cfg.auth, sinks, allowUnsafe);
  checkOidcClient(cfg.auth, sinks, allowUnsafe);
  refuseUnsupportedClient(cfg, error);
  checkServerAddrs(cfg, sinks);
  const t = cfg.transport;
  if (t.heartbeatTimeout > 0 && t.heartbeatInterval > 0 && t.heartbeatTimeout < t.heartbeatInterval) {
    error('transport.heartbeatTimeout', `${t.heartbeatTimeout} is less than transport.heartbeatInterval (${t.heartbeatInterval})`);
  }
  // Parsed again when dialling; here so a typo stops the start with the key named.
  if (t.proxyURL !== '') tryParse('transport.proxyURL', () => parseProxyUrl(t.proxyURL), sinks);
  if (cfg.dnsServer !== '') tryParse('dnsServer', () => dnsServerAddress(cfg.dnsServer), sinks);
  checkCertPair(t.tls, sinks);
  if (!t.tls.enable && t.protocol !== 'wss') {
    for (const key of ['certFile', 'keyFile', 'trustedCaFile'] as const) {
      if (t.tls[key] !== '') warn(`transport.tls.${key}`, 'ignored because transport.tls.enable is false');
    }
    // A pin that is silently not checked would be worse than none.
    if (t.tls.serverFingerprint !== '') error('transport.tls.serverFingerprint', 'needs TLS: set transport.tls.enable = true (or remove the fingerprint)');
  }
  const rawProxies = isPlainObject(raw) && Array.isArray(raw.proxies) ? (raw.proxies as unknown[]) : [];
  const names = new Set<string>();
  cfg.proxies.forEach((p, i) => {
    const at = `proxies[${i}]`;
    if (names.has(p.name)) error(`${at}.name`, `duplicate proxy name "${p.name}"`);
    else if (p.name === '' && isPlainObject(rawProxies[i]) && rawProxies[i].name !== undefined) error(`${at}.name`, 'must not be empty');
    names.add(p.name);
    const rawP = rawProxies[i];
    checkProxy(p, at, isPlainObject(rawP) && rawP.localPort !== undefined, sinks);
    checkIpLists(p.allowIPs, p.denyIPs, `${at}.`, sinks);
    if (p.sso) checkSsoProvider(p.sso, `${at}.sso`, error);
    // xtcp visitors reach the client directly (the server only introduces them): nothing on the server sees their address.
    if (p.type === 'xtcp' && (p.allowIPs?.length || p.denyIPs?.length)) warn(`${at}.allowIPs`, 'not enforced for xtcp: its visitors connect peer to peer');
  });
  const visitorNames = new Set<string>();
  cfg.visitors.forEach((v, i) => {
    const at = `visitors[${i}]`;
    if (visitorNames.has(v.name)) error(`${at}.name`, `duplicate visitor name "${v.name}"`);
    visitorNames.add(v.name);
    checkVisitor(v, at, sinks);
  });
  cfg.visitors.forEach((v, i) => {
    if (v.type !== 'xtcp' || !v.fallbackTo) return;
    const target = cfg.visitors.find((x) => x.name === v.fallbackTo);
    if (!target) error(`visitors[${i}].fallbackTo`, `no visitor is named "${v.fallbackTo}"`);
    else if (target.type !== 'stcp')
      error(`visitors[${i}].fallbackTo`, `"${v.fallbackTo}" is a ${target.type} visitor; an xtcp visitor falls back to an stcp visitor`);
  });
  cfg.start.forEach((name, i) => {
    if (!names.has(name) && !visitorNames.has(name)) warn(`start[${i}]`, `no proxy or visitor is named "${name}"`);
  });
}

const DATAGRAM_TYPES: ReadonlySet<string> = new Set(['udp', 'sudp']);

function checkProxy(p: ValidatedProxyConfig, at: string, localPortGiven: boolean, { error, warn }: CheckSinks): void {
  if (p.plugin && DATAGRAM_TYPES.has(p.type)) {
    warn(`${at}.plugin`, `ignored on type "${p.type}": plugins serve tcp-like proxies (as frp, datagrams go to localPort)`);
    if (!localPortGiven) error(`${at}.localPort`, 'required');
  } else if (p.plugin) {
    const checked = p.healthCheck !== undefined && p.healthCheck.type !== '';
    if (localPortGiven) warn(`${at}.localPort`, `${checked ? 'used only by the health check' : 'ignored'}: plugin "${p.plugin.type}" serves the connections`);
    else if (checked) warn(`${at}.healthCheck.type`, 'ignored: a plugin proxy is health checked on its localPort, and none is set (as frp)');
    if (p.plugin.type === 'virtual_net')
      warn(`${at}.plugin.type`, '"virtual_net" is not supported: it needs a TUN device, which burrow does not create; this proxy will not start');
    const need = PLUGIN_NEEDS[p.plugin.type];
    if (need && !p.plugin[need]) error(`${at}.plugin.${need}`, `required for plugin type "${p.plugin.type}"`);
  } else if (!localPortGiven) {
    error(`${at}.localPort`, 'required');
  }
  if (p.customDomains !== undefined && p.customDomains.length === 0 && !p.subdomain) {
    error(`${at}.customDomains`, `required for type "${p.type}" (or set subdomain)`);
  }
  if (p.type === 'tcpmux' && !p.multiplexer) {
    error(`${at}.multiplexer`, 'required for type "tcpmux" (the one value is "httpconnect")');
  }
  if (p.subdomain && /[.*]/.test(p.subdomain)) error(`${at}.subdomain`, `"." and "*" are not allowed in "${p.subdomain}"`);
  if (p.healthCheck?.type === 'http' && p.healthCheck.path === '') {
    error(`${at}.healthCheck.path`, 'required when healthCheck.type is "http"');
  }
  if (p.secretKey === '') warn(`${at}.secretKey`, `empty: anyone who knows the name "${p.name}" can reach this ${p.type} proxy`);
}

function checkVisitor(v: VisitorConfig, at: string, { error }: CheckSinks): void {
  if (v.bindPort === 0 && !v.plugin) {
    error(`${at}.bindPort`, 'required: the local port to listen on (negative = no listener)');
  }
  if (v.type === 'sudp' && v.bindPort < 0) error(`${at}.bindPort`, 'a sudp visitor needs a listener (frp does not support a negative port here)');
}

/** ACME needs the HTTPS vhost to serve what it gets, and a port on which the CA can check a challenge. */
function checkAcme(cfg: ServerConfig, sinks: CheckSinks): void {
  const a = cfg.acme;
  if (a.dns01Hook !== '')
    sinks.error(
      'acme.dns01Hook',
      'DNS-01 is not supported yet: wildcard certificates cannot be ordered; list the names, or globs of them, served over HTTP-01 or TLS-ALPN-01',
    );
  if (a.domains.length === 0) return;
  if (cfg.vhostHTTPSPort === 0) sinks.error('acme.domains', 'needs vhostHTTPSPort: certificates are served there');
  if (cfg.vhostHTTPPort === 0) sinks.error('acme.domains', 'needs vhostHTTPPort: certificates are for http proxies, which need it');
  const http = a.challenges.includes('http-01') && cfg.vhostHTTPPort > 0;
  const alpn = a.challenges.includes('tls-alpn-01') && cfg.vhostHTTPSPort > 0;
  if (!http && !alpn) sinks.error('acme.challenges', 'no challenge can be answered: http-01 needs vhostHTTPPort, tls-alpn-01 needs vhostHTTPSPort');
  if (a.storage === '') sinks.error('acme.storage', 'required when acme.domains is set');
  if (!URL.canParse(a.directory)) sinks.error('acme.directory', `"${a.directory}" is not a URL`);
  a.domains.forEach((d, i) => {
    if (!/^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/i.test(d) || d.includes('*', 1)) sinks.error(`acme.domains[${i}]`, `"${d}" is not a name or a "*." glob of names`);
  });
}

/** The cluster keys only matter with `cluster.redis`; then the secret is required and the URL must be Redis's or Sentinel's. */
function checkCluster(c: ServerConfig['cluster'], sinks: CheckSinks): void {
  if (c.redis === '') return;
  try {
    parseRedisTarget(c.redis);
  } catch (err) {
    sinks.error('cluster.redis', describeError(err));
  }
  // The secret lets a peer open user connections through this node's link: a short one is guessable offline.
  if (c.secret.length < 16) sinks.error('cluster.secret', c.secret === '' ? 'required when cluster.redis is set' : 'must be at least 16 characters');
}
