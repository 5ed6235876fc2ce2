import { authBase, logSchema, quicSchema, tlsFiles, webServerSchema } from './common-schema.js';
import { bool, count, MAX_TIMER_SECONDS, port, seconds, str, type SchemaNode } from './schema-engine.js';
import { serverSsoSchema } from './sso-schema.js';

/** The server file (frps), key names and defaults as frp's TOML format (FRP-PROTOCOL.md §9.2). */

const serverAuth = {
  kind: 'object',
  fields: {
    ...authBase,
    /** burrow's own: seconds a signed timestamp (Login, scoped NewWorkConn/Ping) may be off the server clock; 0 = no check (as frp) */
    maxClockSkew: { kind: 'int', default: 900, min: 0, max: 86_400 },
    /** burrow's own: start on a non-loopback address with an empty token anyway */
    allowEmptyToken: bool(),
    oidc: {
      kind: 'object',
      fields: { issuer: str(), audience: str(), skipExpiryCheck: bool(), skipIssuerCheck: bool() },
    },
  },
} as const satisfies SchemaNode;

const httpPlugin = {
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
} as const satisfies SchemaNode;

/**
 * burrow's own: one account per `[[users]]` table. A stock frpc logs in as
 * one with its `user` and its own `auth.token`; the limits apply to every
 * proxy of that user, over all of its clients.
 */
export const userAccount = {
  kind: 'object',
  required: ['name'],
  fields: {
    name: str(),
    token: str(),
    /** the token read from this file (trimmed), instead of `token` */
    tokenFile: str(),
    /** public ports this user may open, frp's shape; empty = whatever the server allows */
    allowPorts: { kind: 'portRanges' },
    /** globs (`*.alice.example.com`) of the domains this user's http/https/tcpmux proxies may route; empty = any */
    allowDomains: { kind: 'stringList', default: [] },
    /** proxies over all of this user's clients; 0 = no cap */
    maxProxies: count(0, 100_000),
    /** user connections open at once over all of this user's proxies; 0 = no cap */
    maxConnections: count(0, 10_000_000),
    /** bytes a second over all of this user's proxies, both directions, frp's units ("10MB"); empty = none */
    bandwidthLimit: str(),
    /** bytes in + out per period ("100GB"; KB, MB, GB, TB, binary); empty = none */
    trafficQuota: str(),
    /** the day of the month a quota period starts (a month without that day starts it on its last day) */
    quotaResetDay: { kind: 'int', default: 1, min: 1, max: 31 },
    /** the last day the account may be used ("2027-06-30", UTC), or an ISO instant; empty = never expires */
    expires: str(),
    /** logins and new connections refused ("account disabled"), the entry kept (the dashboard's switch) */
    disabled: bool(),
  },
} as const satisfies SchemaNode;

/** burrow's own: the file `usersFile` names, holding only `[[users]]` (what the dashboard writes). */
export const usersFileSchema = {
  kind: 'object',
  fields: { users: { kind: 'list', item: userAccount } },
} as const satisfies SchemaNode;

/** burrow's own bounds on what an unauthenticated peer may hold, on the bind port and the vhosts (not in frp) */
const limits = {
  kind: 'object',
  fields: {
    /** seconds a new connection has to complete a Login (or, without tcpMux, a first accepted message) */
    loginTimeout: { kind: 'int', default: 10, min: 1, max: 3600 },
    /** yamux streams one connection may open before its Login succeeded */
    preAuthStreams: { kind: 'int', default: 8, min: 1, max: 4096 },
    /** connections not yet logged in, per source address */
    preAuthPerIP: { kind: 'int', default: 32, min: 1, max: 1_000_000 },
    /** connections not yet logged in, all addresses together */
    preAuthTotal: { kind: 'int', default: 1024, min: 1, max: 1_000_000 },
    /** bytes queued unsent on one control connection before it is closed */
    controlQueueBytes: { kind: 'int', default: 1024 * 1024, min: 64 * 1024, max: 1024 * 1024 * 1024 },
    /** seconds from a vhost connection's first byte (or its accept) to the end of its request head / ClientHello / CONNECT */
    vhostHeaderTimeout: { kind: 'int', default: 60, min: 1, max: 3600 },
    /** seconds a keep-alive vhost connection may wait, silent, for its next request */
    vhostIdleTimeout: { kind: 'int', default: 60, min: 1, max: 3600 },
    /** seconds a server plugin (httpPlugins) has to answer one request; frp waits forever */
    pluginTimeout: { kind: 'int', default: 10, min: 1, max: 3600 },
    /** open connections from one source address over all vhost ports (IPv6: per /64); 0 = no per-address cap */
    vhostConnsPerIP: { kind: 'int', default: 256, min: 0, max: 1_000_000 },
    /** open connections over all vhost ports together */
    vhostConnsTotal: { kind: 'int', default: 4096, min: 1, max: 1_000_000 },
    /** failed logins from one source address (IPv6: per /64) within a minute before its logins are refused for a minute */
    failedLoginsPerIP: { kind: 'int', default: 10, min: 1, max: 1_000_000 },
  },
} as const satisfies SchemaNode;

/**
 * burrow's own (frp has no ACME, issue 21): certificates from an ACME CA for the http proxies'
 * domains that match `domains`, TLS terminated on vhostHTTPSPort. Off while `domains` is empty.
 */
const acme = {
  kind: 'object',
  fields: {
    /** the account's contact; optional for most CAs */
    email: str(),
    directory: str('https://acme-v02.api.letsencrypt.org/directory'),
    /** account key, certificates and their keys (0600 files in a 0700 folder); relative to the config file */
    storage: str('./burrow-acme'),
    /** the names that may get a certificate: exact names or `*.` globs of one label or more */
    domains: { kind: 'stringList' },
    /** DNS-01 through a hook command: not implemented yet, refused when set */
    dns01Hook: str(),
    /** the challenge types offered to the CA, in order of preference */
    challenges: { kind: 'stringList', default: ['http-01', 'tls-alpn-01'], oneOf: ['http-01', 'tls-alpn-01'] },
    /** `http://` requests for a name with a certificate are redirected to `https://` (challenge paths excepted) */
    redirectHTTP: bool(true),
    /** renew this many days before the certificate expires */
    renewBeforeDays: { kind: 'int', default: 30, min: 1, max: 365 },
    /** a CA file to trust for the directory's own HTTPS (a private or test CA); empty = the system's */
    trustedCaFile: str(),
  },
} as const satisfies SchemaNode;

/**
 * burrow's own: several servers sharing their ownership of names, ports and
 * domains through Redis (docs/cluster.md). Off while `redis` is empty; then
 * nothing here is read and nothing connects to Redis.
 */
const cluster = {
  kind: 'object',
  fields: {
    /** redis://[:password@]host:port[/db], rediss:// (TLS), or redis+sentinel://[:password@]host:26379[,…]/mastername[/db] (config/redis-url.ts) */
    redis: str(),
    /** unique per node; '' = derived from the host name and the bind port */
    nodeName: str(),
    /** the host other nodes dial for this node's internal link; '' = bindAddr (or 127.0.0.1 when bindAddr is a wildcard) */
    advertiseAddr: str(),
    /** the internal link's port on advertiseAddr; 0 = any free port, advertised as bound */
    linkPort: port(7100, 0),
    /** shared by every node: authenticates the internal link (HMAC-SHA256); required with `redis` */
    secret: str(),
    /** TLS on the internal link (the server's certificate); the secret authenticates both ends either way */
    tls: bool(),
    /** seconds a claim outlives its node's last heartbeat (heartbeats every third of it) */
    leaseSeconds: { kind: 'int', default: 10, min: 3, max: 300 },
  },
} as const satisfies SchemaNode;

export const serverSchema = {
  kind: 'object',
  fields: {
    bindAddr: str('0.0.0.0'),
    bindPort: port(7000, 0),
    kcpBindPort: port(0, 0),
    quicBindPort: port(0, 0),
    /** where tcp proxy listeners bind; empty in the file = bindAddr */
    proxyBindAddr: str(),
    /** 0 = disabled */
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
        /** seconds; <= 0 disables; -1 = frp default (off with tcpMux, 90 s without) */
        heartbeatTimeout: seconds(-1),
        quic: quicSchema,
        /**
         * `force` is true after load when `trustedCaFile` is set, as frp.
         * generatedCertDir is burrow's own: where the certificate made when certFile
         * is empty is kept across restarts; '' = in memory only (a new one each start)
         */
        tls: { kind: 'object', fields: { force: bool(), ...tlsFiles, generatedCertDir: str() } },
      },
    },
    webServer: webServerSchema,
    limits,
    acme,
    enablePrometheus: bool(),
    log: logSchema,
    detailedErrorsToClient: bool(true),
    maxPortsPerClient: count(0),
    userConnTimeout: { kind: 'int', default: 10, min: 1, max: MAX_TIMER_SECONDS },
    udpPacketSize: { kind: 'int', default: 1500, min: 1, max: 65535 },
    natholeAnalysisDataReserveHours: count(168),
    allowPorts: { kind: 'portRanges' },
    httpPlugins: { kind: 'list', item: httpPlugin },
    cluster,
    /** burrow's own: source addresses (IPs, CIDR blocks) every proxy's user connections may come from, on top of each proxy's own list */
    allowIPs: { kind: 'stringList', default: [] },
    /** burrow's own: source addresses whose user connections are closed on every proxy */
    denyIPs: { kind: 'stringList', default: [] },
    /** burrow's own: accounts with their own tokens and limits */
    users: { kind: 'list', item: userAccount },
    /** burrow's own: more `[[users]]` in a file of their own (relative to the config file), the one the dashboard edits */
    usersFile: str(),
    /** burrow's own: OIDC logins in front of the http proxies of the domains each table names, whichever client registered them */
    sso: { kind: 'list', item: serverSsoSchema },
    /** burrow's own: the key that signs SSO cookies (at least 32 characters); empty = derived from cluster.secret in a cluster, else random at each start */
    ssoCookieSecret: str(),
    /** burrow's own: where the users' traffic counters are kept across restarts; empty = next to the config file, or in memory without one */
    usageFile: str(),
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
} as const satisfies SchemaNode;
