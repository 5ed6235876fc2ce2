import { startServerDashboard, type ServerDashboard } from '../admin/server-api.js';
import type { ServerConfig } from '../config/types.js';
import { describeError } from '../util/errors.js';
import { BurrowServer } from '../server/server.js';
import type { Logger } from '../util/logger.js';
import { usersControl } from './users-control.js';
import { onShutdown } from './process-setup.js';
import { keepHeapSmall } from '../util/heap-trim.js';

/**
 * The running side of `burrow server` and `frps` (each parses its own command
 * line, then calls this): starts the server and, when webServer.port is set,
 * its dashboard and the SSH tunnel gateway; a signal stops them all.
 */
export async function runServer(config: ServerConfig, log: Logger, configFile?: string, allowUnsafe: readonly string[] = []): Promise<void> {
  keepHeapSmall(log);
  const server = new BurrowServer(config, log);
  // What SIGHUP and POST /api/users/reload do: re-read the file's [[users]] (and usersFile's); a removed or changed user's clients are closed at once.
  const users = configFile === undefined ? undefined : usersControl(server, configFile, allowUnsafe, log);
  const reloadUsers = users?.reload;
  if (reloadUsers) {
    // A bad file changes nothing.
    process.on('SIGHUP', () => {
      try {
        reloadUsers();
      } catch (err) {
        log.error(`users reload refused, the running accounts are unchanged: ${describeError(err)}`);
      }
    });
  }
  let dashboard: ServerDashboard | undefined;
  // Loaded only when asked for: ssh2 costs every other server its memory.
  const gateway = config.sshTunnelGateway.bindPort > 0 ? new (await import('../sshgw/gateway.js')).SshGateway(server, log) : undefined;
  // Before start: a signal that arrives just after the port opens still stops the server cleanly.
  onShutdown(async () => {
    await dashboard?.close();
    await gateway?.stop();
    await server.stop();
  });
  await server.start();
  // After the server: its tunnels log in to it. A gateway that cannot listen stops the server too.
  try {
    await gateway?.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  if (config.webServer.port > 0) {
    dashboard = await startServerDashboard({
      server,
      ...config.webServer,
      enablePrometheus: config.enablePrometheus,
      logger: log,
      ...(reloadUsers ? { reloadUsers } : {}),
      ...(users?.editor ? { usersEditor: users.editor } : {}),
    });
  }
}
