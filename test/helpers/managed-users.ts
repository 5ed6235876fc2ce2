import type { TestContext } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerDashboard, type ServerDashboard } from '../../src/admin/server-api.js';
import { usersControl } from '../../src/cli/users-control.js';
import { loadServerConfig } from '../../src/config/load.js';
import { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { TOKEN } from './config.js';
import { whenDone } from './tunnel.js';

export const CAROL = 'carol-secret';
export const DASHBOARD_CREDENTIALS = { username: 'admin', password: 'pw' };

/** A server config as an operator writes it: a comment of their own, a user of its own, and the users file beside it. */
export function configText(extra = ''): string {
  return [
    '# hand-written: the dashboard must never rewrite this file',
    'bindAddr = "127.0.0.1"',
    'bindPort = 0',
    `auth.token = "${TOKEN}"`,
    extra,
    '',
    '[[users]]',
    'name = "carol"',
    `token = "${CAROL}"`,
    '',
  ].join('\n');
}

export interface Managed {
  dir: string;
  configFile: string;
  server: BurrowServer;
  dashboard: ServerDashboard;
  api: (path: string, init?: RequestInit) => Promise<Response>;
}

/** The server as `burrow server -c` runs it: config loaded from the file, reload and editor wired to the dashboard. */
export async function startManaged(t: TestContext, opts: { usersFile?: boolean; password?: boolean } = {}): Promise<Managed> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-users-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'frps.toml');
  writeFileSync(configFile, configText(opts.usersFile === false ? '' : 'usersFile = "users.toml"'));
  const server = new BurrowServer(loadServerConfig(configFile), silentLogger);
  await server.start();
  whenDone(t, () => server.stop());
  const control = usersControl(server, configFile, [], silentLogger);
  const withPassword = opts.password !== false;
  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: withPassword ? DASHBOARD_CREDENTIALS.username : '',
    password: withPassword ? DASHBOARD_CREDENTIALS.password : '',
    enablePrometheus: false,
    logger: silentLogger,
    reloadUsers: control.reload,
    ...(control.editor ? { usersEditor: control.editor } : {}),
  });
  whenDone(t, () => dashboard.close());
  const api = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`http://127.0.0.1:${dashboard.port}${path}`, init);
  return { dir, configFile, server, dashboard, api };
}
