import type { PortRange, ProxyType, ServerConfig } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';
import type { ClusterView } from '../cluster/node.js';
import type { ClusterNodesView } from '../server/cluster-shared.js';
import type { ServerProxy } from '../proxy/types.js';
import { ServerStats, type ClientSnapshot, type ProxySnapshot, type StatsEventSource } from './stats/server-stats.js';
import type { Logger } from '../util/logger.js';
import type { Accounts } from '../server/accounts/accounts.js';
import type { UsersEditor } from '../server/accounts/users-editor.js';
import { shortRunId } from '../util/peer-string.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import { apiError, startApiServer, type ApiRoute, type ApiServer } from './api-server.js';
import { createServerMetrics } from './metrics.js';
import { accountReports, usersRoutes, type UsersApiOptions, type UsersReload } from './users-api.js';
import { webPageRoutes } from './web-pages.js';

/** What the dashboard reads from the running server; `accounts` when it has `[[users]]` (burrow's own). */
export type DashboardSource = StatsEventSource & {
  readonly config: ServerConfig;
  readonly port: number;
  readonly accounts?: Pick<Accounts, 'report'>;
  /** user connections and datagrams dropped by allowIPs/denyIPs */
  readonly proxies?: { readonly refusedByIpRules: number };
  /** the cluster this server belongs to, if any (burrow's own `/api/cluster`) */
  readonly cluster?: { view(): ClusterView } | undefined;
  /** every node of the cluster with its clients, proxies and totals, as published in Redis */
  readonly shared?: { view(): ClusterNodesView } | undefined;
};

export interface ServerDashboardOptions {
  server: DashboardSource;
  addr: string;
  port: number;
  user: string;
  password: string;
  /** serve GET /metrics (frp's `enablePrometheus`) */
  enablePrometheus: boolean;
  logger: Logger;
  /** webServer.tls: serve HTTPS */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** re-reads `[[users]]` from the config file (what SIGHUP does); throws a readable error and changes nothing when the file is bad */
  reloadUsers?: () => UsersReload;
  /** with `usersFile`: the accounts the dashboard may create, change and delete */
  usersEditor?: UsersEditor;
}

export type { UsersReload };

export interface ServerDashboard extends ApiServer {
  readonly stats: ServerStats;
}

/** Server-side proxy settings in frp's TOML key style. */
export type ProxyConf = Record<string, unknown> & { name: string; type: string };

/** frp's ProxyStats (`/api/proxy/{type}`, `/api/proxies/{name}`). */
export interface ProxyStats {
  name: string;
  conf: ProxyConf | null;
  user?: string;
  clientID?: string;
  todayTrafficIn: number;
  todayTrafficOut: number;
  curConns: number;
  lastStartTime: string;
  lastCloseTime: string;
  status: 'online' | 'offline';
}

/** frp's ClientInfo (`/api/clients`); times in Unix seconds. */
export interface ClientInfo {
  key: string;
  user: string;
  clientID: string;
  runID: string;
  version?: string;
  wireProtocol?: string;
  hostname: string;
  clientIP?: string;
  firstConnectedAt: number;
  lastConnectedAt: number;
  disconnectedAt?: number;
  online: boolean;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** frp's dashboard time format, local time: `MM-DD hh:mm:ss`; empty for never. */
export function formatDashboardTime(ms: number): string {
  if (ms === 0) return '';
  const d = new Date(ms);
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The port a tcp/udp proxy really listens on (the one asked for may have been 0). */
function boundPort(remoteAddr: string, asked: number | undefined): number {
  const port = Number(remoteAddr.slice(remoteAddr.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : (asked ?? 0);
}

function domainConf(m: NewProxy): Partial<ProxyConf> {
  return {
    ...(m.custom_domains && m.custom_domains.length > 0 ? { customDomains: [...m.custom_domains] } : {}),
    ...(m.subdomain ? { subdomain: m.subdomain } : {}),
  };
}

// frp shows secretKey for secret types too; burrow never shows secrets.
const secretConf = (m: NewProxy): Partial<ProxyConf> => ({ allowUsers: [...(m.allow_users ?? [])] });

/** The settings each proxy type adds on the dashboard; a type missing here does not compile. */
const TYPE_CONF: Readonly<Record<ProxyType, (m: NewProxy, remoteAddr: string) => Partial<ProxyConf>>> = {
  tcp: (m, remoteAddr) => ({ remotePort: boundPort(remoteAddr, m.remote_port) }),
  udp: (m, remoteAddr) => ({ remotePort: boundPort(remoteAddr, m.remote_port) }),
  http: (m) => ({ ...domainConf(m), locations: [...(m.locations ?? [])], hostHeaderRewrite: m.host_header_rewrite ?? '' }),
  https: domainConf,
  tcpmux: (m) => ({ ...domainConf(m), multiplexer: m.multiplexer ?? '', routeByHTTPUser: m.route_by_http_user ?? '' }),
  stcp: secretConf,
  sudp: secretConf,
  xtcp: secretConf,
};

/**
 * A live proxy's settings as frp's dashboard shows them, built from its
 * NewProxy message. Keys frp always writes are always here (`transport`,
 * `loadBalancer.group`, `remotePort`, `locations`, …); secrets (sk, HTTP
 * credentials, the group key) never are.
 */
export function proxyConf(proxy: ServerProxy, msg: NewProxy | undefined): ProxyConf {
  const m: NewProxy = msg ?? {};
  const transport: Record<string, unknown> = {};
  if (m.use_encryption) transport.useEncryption = true;
  if (m.use_compression) transport.useCompression = true;
  // frps completes what NewProxy leaves out with frpc's defaults before showing it.
  transport.bandwidthLimit = m.bandwidth_limit ?? '';
  transport.bandwidthLimitMode = m.bandwidth_limit_mode || 'client';
  const conf: ProxyConf = { name: proxy.name, type: proxy.type };
  if (m.annotations && Object.keys(m.annotations).length > 0) conf.annotations = { ...m.annotations };
  conf.transport = transport;
  if (m.metas && Object.keys(m.metas).length > 0) conf.metadatas = { ...m.metas };
  conf.loadBalancer = { group: m.group ?? '' };
  // NewProxy carries no health check, local address or plugin: frps shows its defaults, and so do we.
  conf.healthCheck = { type: '', intervalSeconds: 0 };
  conf.localIP = '127.0.0.1';
  conf.plugin = null;
  const typeConf = Object.hasOwn(TYPE_CONF, proxy.type) ? TYPE_CONF[proxy.type as ProxyType] : undefined;
  if (typeConf) Object.assign(conf, typeConf(m, proxy.remoteAddr));
  return conf;
}

export function toProxyStats(s: ProxySnapshot): ProxyStats {
  return {
    name: s.name,
    conf: s.live ? proxyConf(s.live.proxy, s.live.msg) : null,
    ...(s.user ? { user: s.user } : {}),
    ...(s.clientID ? { clientID: s.clientID } : {}),
    todayTrafficIn: s.todayTrafficIn,
    todayTrafficOut: s.todayTrafficOut,
    curConns: s.curConns,
    lastStartTime: formatDashboardTime(s.lastStart),
    lastCloseTime: formatDashboardTime(s.lastClose),
    status: s.live ? 'online' : 'offline',
  };
}

const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Unlike frp, the run id is shown cut short: it names a live client on the
 * bind port, so the dashboard (and whoever reads over its shoulder) gets
 * enough to tell clients apart, not the id itself. A client id or key that
 * fell back to the run id is cut the same way.
 */
function maskRunId(value: string, runID: string): string {
  if (runID === '' || !value.endsWith(runID)) return value;
  return value.slice(0, value.length - runID.length) + shortRunId(runID);
}

export function toClientInfo(c: ClientSnapshot): ClientInfo {
  return {
    key: maskRunId(c.key, c.runID),
    user: c.user,
    clientID: maskRunId(c.clientID, c.runID),
    runID: shortRunId(c.runID),
    ...(c.version ? { version: c.version } : {}),
    ...(c.wireProtocol ? { wireProtocol: c.wireProtocol } : {}),
    hostname: c.hostname,
    ...(c.ip ? { clientIP: c.ip } : {}),
    firstConnectedAt: unixSeconds(c.firstConnectedAt),
    lastConnectedAt: unixSeconds(c.lastConnectedAt),
    ...(c.disconnectedAt ? { disconnectedAt: unixSeconds(c.disconnectedAt) } : {}),
    online: c.online,
  };
}

/** frp's `allowPortsStr`: `2000-3000,3001`. */
function allowPortsText(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}-${r.end}`)).join(',');
}

function serverInfo(server: DashboardSource, stats: ServerStats): Record<string, unknown> {
  const c = server.config;
  const now = stats.summary();
  const allowPortsStr = allowPortsText(c.allowPorts);
  return {
    version: FRP_COMPAT_VERSION,
    bindPort: server.port || c.bindPort,
    vhostHTTPPort: c.vhostHTTPPort,
    vhostHTTPSPort: c.vhostHTTPSPort,
    tcpmuxHTTPConnectPort: c.tcpmuxHTTPConnectPort,
    kcpBindPort: c.kcpBindPort,
    quicBindPort: c.quicBindPort,
    subdomainHost: c.subDomainHost,
    maxPoolCount: c.transport.maxPoolCount,
    maxPortsPerClient: c.maxPortsPerClient,
    heartbeatTimeout: c.transport.heartbeatTimeout,
    ...(allowPortsStr ? { allowPortsStr } : {}),
    ...(c.transport.tls.force ? { tlsForce: true } : {}),
    // burrow's own, on a node of a cluster only: the page then shows the cluster's section (a single server's answer is frp's).
    ...(server.cluster ? { cluster: true } : {}),
    totalTrafficIn: now.todayTrafficIn,
    totalTrafficOut: now.todayTrafficOut,
    curConns: now.curConns,
    clientCounts: now.clientCounts,
    proxyTypeCount: now.proxyTypeCounts,
  };
}

const NO_PROXY = 'no proxy info found';

/** frp's dashboard routes over the stats; `/metrics` only when Prometheus is on. */
export function serverDashboardRoutes(
  server: DashboardSource,
  stats: ServerStats,
  enablePrometheus: boolean,
  users: UsersApiOptions = { authenticated: false },
): ApiRoute[] {
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/healthz', public: true, handler: () => ({}) },
    ...webPageRoutes('server'),
    { method: 'GET', path: '/api/serverinfo', handler: () => ({ json: serverInfo(server, stats) }) },
    // burrow's own: this node's view of its cluster (docs/cluster.md); 404 on a single server.
    {
      method: 'GET',
      path: '/api/cluster',
      handler: () =>
        server.cluster ? { json: { ...server.cluster.view(), ...server.shared?.view() } } : apiError(404, 'this server is not part of a cluster'),
    },
    // burrow's own: the [[users]] accounts, their usage, and the users file's editor.
    ...usersRoutes(server, users),
    {
      method: 'GET',
      path: '/api/proxy/:type',
      handler: (req) => ({ json: { proxies: stats.proxiesByType(req.params.type!).map(toProxyStats) } }),
    },
    {
      method: 'GET',
      path: '/api/proxy/:type/:name',
      handler: (req) => {
        const s = stats.proxy(req.params.name!, req.params.type!);
        return s ? { json: toProxyStats(s) } : apiError(404, NO_PROXY);
      },
    },
    {
      method: 'GET',
      path: '/api/proxies/:name',
      handler: (req) => {
        const s = stats.proxy(req.params.name!);
        return s ? { json: toProxyStats(s) } : apiError(404, NO_PROXY);
      },
    },
    {
      method: 'DELETE',
      path: '/api/proxies',
      handler: (req) => {
        if (req.query.get('status') !== 'offline') return apiError(400, 'only status=offline can be cleared');
        stats.clearOfflineProxies();
        return { json: { Code: 200, Msg: 'success' } };
      },
    },
    {
      method: 'GET',
      path: '/api/traffic/:name',
      handler: (req) => {
        const t = stats.traffic(req.params.name!);
        return t ? { json: t } : apiError(404, NO_PROXY);
      },
    },
    {
      method: 'GET',
      path: '/api/clients',
      handler: (req) => {
        const q = req.query;
        const runId = q.get('runId') ?? '';
        const filter = { user: q.get('user') ?? '', clientId: q.get('clientId') ?? '', runId: '', status: q.get('status') ?? '' };
        // The full run id or the short form the API shows.
        const found = stats.clients(filter).filter((c) => runId === '' || c.runID === runId || (c.runID !== '' && shortRunId(c.runID) === runId));
        return { json: found.map(toClientInfo) };
      },
    },
    {
      method: 'GET',
      path: '/api/clients/:key',
      handler: (req) => {
        const key = req.params.key!;
        // By the key the API shows (run id cut short) or the full one.
        const c = stats.client(key) ?? stats.clients({ user: '', clientId: '', runId: '', status: '' }).find((x) => toClientInfo(x).key === key);
        return c ? { json: toClientInfo(c) } : apiError(404, `client ${key} not found`);
      },
    },
  ];
  if (enablePrometheus) {
    const metrics = createServerMetrics(
      stats,
      () => accountReports(server),
      () => server.proxies?.refusedByIpRules ?? 0,
    );
    routes.push({ method: 'GET', path: '/metrics', handler: async () => ({ text: await metrics.render() }) });
  }
  return routes;
}

/**
 * The server dashboard API (frp's `webServer` on frps): starts recording the
 * server's clients and proxies now, serves them until close().
 */
export async function startServerDashboard(opts: ServerDashboardOptions): Promise<ServerDashboard> {
  const stats = new ServerStats(opts.server);
  let api: ApiServer;
  try {
    api = await startApiServer({
      addr: opts.addr,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      routes: serverDashboardRoutes(opts.server, stats, opts.enablePrometheus, {
        authenticated: opts.user !== '' || opts.password !== '',
        ...(opts.reloadUsers ? { reload: opts.reloadUsers } : {}),
        ...(opts.usersEditor ? { editor: opts.usersEditor } : {}),
      }),
      logger: opts.logger,
      tls: opts.tls,
    });
  } catch (err) {
    stats.close();
    throw err;
  }
  return {
    stats,
    port: api.port,
    close: async () => {
      stats.close();
      await api.close();
    },
  };
}
