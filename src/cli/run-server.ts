import { startServerDashboard, type ServerDashboard } from '../admin/server-api.js';
import type { ServerConfig } from '../config/types.js';
import { BurrowServer } from '../server/server.js';
import { SshGateway } from '../sshgw/gateway.js';
import type { Logger } from '../util/logger.js';
import { onShutdown } from './process-setup.js';

/**
 * The running side of `burrow server` and `frps` (each parses its own command
 * line, then calls this): starts the server and, when webServer.port is set,
 * its dashboard and the SSH tunnel gateway; a signal stops them all.
 */
export async function runServer(config: ServerConfig, log: Logger): Promise<void> {
  const server = new BurrowServer(config, log);
  let dashboard: ServerDashboard | undefined;
  const gateway = config.sshTunnelGateway.bindPort > 0 ? new SshGateway(server, log) : undefined;
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
    dashboard = await startServerDashboard({ server, ...config.webServer, enablePrometheus: config.enablePrometheus, logger: log });
  }
}
