import { startServerDashboard, type ServerDashboard } from '../admin/server-api.js';
import type { ServerConfig } from '../config/types.js';
import { BurrowServer } from '../server/server.js';
import type { Logger } from '../util/logger.js';
import { onShutdown } from './process-setup.js';

/**
 * The running side of `burrow server` and `frps` (each parses its own command
 * line, then calls this): starts the server and, when webServer.port is set,
 * its dashboard; a signal stops both.
 */
export async function runServer(config: ServerConfig, log: Logger): Promise<void> {
  const server = new BurrowServer(config, log);
  let dashboard: ServerDashboard | undefined;
  // Before start: a signal that arrives just after the port opens still stops the server cleanly.
  onShutdown(async () => {
    await dashboard?.close();
    await server.stop();
  });
  await server.start();
  if (config.webServer.port > 0) {
    dashboard = await startServerDashboard({ server, ...config.webServer, enablePrometheus: config.enablePrometheus, logger: log });
  }
}
