import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { BurrowClient } from '../client/client.js';
import { ConfigError, loadClientConfig } from '../config/load.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { inspectRoutes } from './inspect-api.js';
import { webPageRoutes } from './web-pages.js';
import { apiError, startApiServer, type ApiRoute, type ApiServer } from './api-server.js';

export interface ClientAdminOptions {
  client: BurrowClient;
  /** the file `reload` and `config` read and write; absent for a client built without one */
  configFile?: string;
  addr: string;
  port: number;
  user: string;
  password: string;
  logger: Logger;
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
}

function proxyStatusBodies(client: BurrowClient): ProxyStatusBody[] {
  return [...client.statuses]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const remote = s.err || !s.remoteAddr ? '' : s.type === 'tcp' || s.type === 'udp' ? `${client.config.serverAddr}${s.remoteAddr}` : s.remoteAddr;
      return { name: s.name, type: s.type, status: s.phase, err: s.err, local_addr: s.localAddr, plugin: '', remote_addr: remote };
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
    proxies: proxyStatusBodies(client),
    /** http proxies whose requests the inspector records */
    inspecting: client.statuses.filter((s) => client.proxyConfig(s.name)?.inspect === true).map((s) => s.name).sort(),
  };
}

/** Re-reads the file and applies it; a bad file is refused with every problem and nothing changes. */
export function reloadFromFile(client: BurrowClient, file: string, log: Logger): ReturnType<BurrowClient['reload']> {
  return client.reload(loadClientConfig(file, { onWarning: (w) => log.warn(`config: ${w}`) }));
}

export function clientAdminRoutes(opts: ClientAdminOptions): ApiRoute[] {
  const { client, configFile, logger: log } = opts;
  const noFile = apiError(400, 'this client was started without a config file');
  return [
    { method: 'GET', path: '/healthz', public: true, handler: () => ({}) },
    ...webPageRoutes('client'),
    { method: 'GET', path: '/api/status', handler: () => ({ json: statusBody(client) }) },
    { method: 'GET', path: '/api/client', handler: () => ({ json: clientBody(client) }) },
    ...inspectRoutes(client),
    {
      method: 'GET',
      path: '/api/reload',
      handler: () => {
        if (!configFile) return noFile;
        try {
          const diff = reloadFromFile(client, configFile, log);
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
      handler: () => (configFile ? { text: readFileSync(configFile, 'utf8') } : noFile),
    },
    {
      method: 'PUT',
      path: '/api/config',
      handler: async (req) => {
        if (!configFile) return noFile;
        const body = await req.body();
        if (body.trim() === '') return apiError(400, 'the new config is empty');
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
  return startApiServer({ addr: opts.addr, port: opts.port, user: opts.user, password: opts.password, routes: clientAdminRoutes(opts), logger: opts.logger });
}
