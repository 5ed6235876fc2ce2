import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { BurrowClient } from '../client/client.js';
import { ConfigError, loadClientConfig } from '../config/load.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { inspectRoutes } from './inspect-api.js';
import { storeRoutes } from './store-api.js';
import { webPageRoutes } from './web-pages.js';
import { apiError, startApiServer, type ApiRoute, type ApiServer } from './api-server.js';
import { REDACTED, redactConfigText, secretsLeft } from './config-redact.js';

/**
 * What PUT /api/config takes: the config formats' own types, plain text (what
 * frp's page and most tools send), JSON, or none (curl -T). Form encodings are
 * refused: a page on another site can post a form without asking first.
 */
const CONFIG_CONTENT_TYPES = new Set([
  '',
  'text/plain',
  'application/toml',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'text/x-yaml',
  'application/json',
  'application/octet-stream',
]);

export interface ClientAdminOptions {
  client: BurrowClient;
  /** the file `reload` and `config` read and write; absent for a client built without one */
  configFile?: string;
  /** the --allow-unsafe features the client was started with; a reload is checked against them */
  allowUnsafe?: readonly string[];
  addr: string;
  port: number;
  user: string;
  password: string;
  logger: Logger;
  /** webServer.tls: serve HTTPS */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** graceful stop of the whole process (POST /api/stop) */
  stop(): void;
}

/** frpc's per-proxy status entry. */
interface ProxyStatusBody {
  name: string;
  type: string;
  status: string;
  err: string;
  local_addr: string;
  plugin: string;
  remote_addr: string;
  /** burrow's addition: when a refused registration goes again (ISO time) */
  next_retry?: string;
  /** "store" for a proxy from the store (frp's field; absent for the config file's) */
  source?: string;
}

function proxyStatusBodies(client: BurrowClient): ProxyStatusBody[] {
  return [...client.statuses]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const remote = s.err || !s.remoteAddr ? '' : s.type === 'tcp' || s.type === 'udp' ? `${client.config.serverAddr}${s.remoteAddr}` : s.remoteAddr;
      const retry = s.nextRetryAt > 0 ? { next_retry: new Date(s.nextRetryAt).toISOString() } : {};
      const source = client.store?.has('proxy', s.name) ? { source: 'store' } : {};
      return { name: s.name, type: s.type, status: s.phase, err: s.err, local_addr: s.localAddr, plugin: s.plugin, remote_addr: remote, ...retry, ...source };
    });
}

/** frpc's status shape: proxies grouped by type, each list sorted by name. */
function statusBody(client: BurrowClient): Record<string, ProxyStatusBody[]> {
  const out: Record<string, ProxyStatusBody[]> = {};
  for (const p of proxyStatusBodies(client)) (out[p.type] ??= []).push(p);
  return out;
}

/** burrow's own view for the admin page: the session as well as the proxies. */
function clientBody(client: BurrowClient): Record<string, unknown> {
  const c = client.config;
  return {
    state: client.state,
    server: `${c.serverAddr}:${c.serverPort}`,
    user: c.user,
    reconnectAttempts: client.reconnectAttempts,
    lastError: client.lastError,
    /** one per `serverAddrs` entry (else the one): server, state, runId, reconnectAttempts, lastError */
    sessions: client.sessions,
    proxies: proxyStatusBodies(client),
    /** whether `store.path` is set: the page's store editor shows only then */
    store: client.store !== undefined,
    /** http proxies whose requests the inspector records */
    inspecting: client.statuses
      .filter((s) => client.proxyConfig(s.name)?.inspect === true)
      .map((s) => s.name)
      .sort(),
  };
}

/**
 * Re-reads the file and applies it; a bad file is refused with every problem and nothing changes.
 * A tokenSource program is not run again: the token is not applied live.
 */
export function reloadFromFile(client: BurrowClient, file: string, log: Logger, allowUnsafe: readonly string[] = []): ReturnType<BurrowClient['reload']> {
  return client.reload(loadClientConfig(file, { allowUnsafe, runTokenExec: false, onWarning: (w) => log.warn(`config: ${w}`) }));
}

export function clientAdminRoutes(opts: ClientAdminOptions): ApiRoute[] {
  const { client, configFile, logger: log } = opts;
  const noFile = apiError(400, 'this client was started without a config file');
  const guarded = opts.user !== '' || opts.password !== '';
  return [
    { method: 'GET', path: '/healthz', public: true, handler: () => ({}) },
    ...webPageRoutes('client'),
    { method: 'GET', path: '/api/status', handler: () => ({ json: statusBody(client) }) },
    { method: 'GET', path: '/api/client', handler: () => ({ json: clientBody(client) }) },
    ...inspectRoutes(client),
    ...storeRoutes({ client, guarded }),
    {
      method: 'GET',
      path: '/api/reload',
      // GET as frpc's own `reload` sends it, but an <img> on another site must not trigger it.
      sideEffects: true,
      handler: () => {
        if (!configFile) return noFile;
        try {
          const diff = reloadFromFile(client, configFile, log, opts.allowUnsafe);
          return { json: diff };
        } catch (err) {
          const msg = err instanceof ConfigError ? err.problems.join('\n') : describeError(err);
          log.error(`reload refused, the running configuration is unchanged: ${msg}`);
          return apiError(400, msg);
        }
      },
    },
    {
      method: 'GET',
      path: '/api/config',
      handler: () => {
        if (!configFile) return noFile;
        const text = readFileSync(configFile, 'utf8');
        // Unlike frp: without a password anyone on this machine can ask, so the secrets stay out.
        if (!guarded) {
          const redacted = redactConfigText(text, configFile);
          if (secretsLeft(redacted, configFile)) {
            return apiError(
              403,
              'this config file has secrets written in a form burrow cannot hide reliably; set webServer.user and webServer.password to read it',
            );
          }
          return { text: redacted, headers: { 'x-burrow-redacted': 'secrets; set webServer.user and webServer.password to read the full file' } };
        }
        return { text };
      },
    },
    {
      method: 'PUT',
      path: '/api/config',
      handler: async (req) => {
        if (!configFile) return noFile;
        if (!CONFIG_CONTENT_TYPES.has(req.contentType)) {
          return apiError(
            415,
            `PUT /api/config takes the file as Content-Type text/plain (or application/toml, application/yaml, application/json), not ${req.contentType}`,
          );
        }
        const body = await req.body();
        if (body.trim() === '') return apiError(400, 'the new config is empty');
        // A file read back redacted and sent again would replace every secret with the placeholder.
        if (body.includes(`"${REDACTED}"`))
          return apiError(
            400,
            `the new config still contains "${REDACTED}" values from a redacted read; set webServer.user and webServer.password to read and edit the full file`,
          );
        // As frp: written for a later reload, not applied now; readable by the owner only.
        writeFileSync(configFile, body, { mode: 0o600 });
        chmodSync(configFile, 0o600); // mode above applies only when the file is new
        return {};
      },
    },
    {
      method: 'POST',
      path: '/api/stop',
      handler: () => {
        setTimeout(() => opts.stop(), 100).unref();
        return {};
      },
    },
  ];
}

export function startClientAdmin(opts: ClientAdminOptions): Promise<ApiServer> {
  return startApiServer({
    addr: opts.addr,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    routes: clientAdminRoutes(opts),
    logger: opts.logger,
    tls: opts.tls,
  });
}
