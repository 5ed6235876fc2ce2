import { BurrowClient } from '../client/client.js';
import { reloadFromFile, startClientAdmin } from '../admin/client-api.js';
import { startServerDashboard, type ServerDashboard } from '../admin/server-api.js';
import type { ClientConfig, ServerConfig } from '../config/types.js';
import { BurrowServer } from '../server/server.js';
import { describeError } from '../util/errors.js';
import { createLogger, type LogLevel, type Logger } from '../util/logger.js';
import { createFileSink } from '../util/log-file.js';
import { warnPlainWebServer } from './run-defaults.js';

/**
 * The running side of every command: `burrow server|client|tcp|http` and the
 * frp drop-ins `frps`/`frpc` parse their own command lines, then share these.
 */

/** Level and format from the command line or the config's `log` table; `log.to` a file path writes there, rotated daily. */
export function loggerFrom(values: { 'log-level'?: string; 'log-format'?: string }, settings: { level: string; to?: string; maxDays?: number } = { level: 'info' }): Logger {
  const to = settings.to ?? 'console';
  const format = values['log-format'] === 'json' ? 'json' : 'text';
  return createLogger({
    level: (values['log-level'] ?? settings.level) as LogLevel,
    format,
    ...(to !== 'console' && to !== '' ? { write: createFileSink(to, settings.maxDays ?? 3, { format }) } : {}),
  });
}

export function onShutdown(stop: () => Promise<void> | void): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    Promise.resolve(stop()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** Starts the server and, when webServer.port is set, its dashboard; a signal stops both. */
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
    warnPlainWebServer(config.webServer, log);
    dashboard = await startServerDashboard({ server, ...config.webServer, enablePrometheus: config.enablePrometheus, logger: log });
  }
}

export interface RunClientOptions {
  configFile?: string;
  /** serve the admin page even when webServer.port is 0 (then on a port the OS picks), and say where */
  page?: { onReady(port: number): void };
}

export async function runClient(config: ClientConfig, log: Logger, opts: RunClientOptions = {}): Promise<void> {
  const { configFile, page } = opts;
  const client = new BurrowClient(config, log);
  if (config.webServer.port > 0) warnPlainWebServer(config.webServer, log);
  const admin =
    config.webServer.port > 0 || page
      ? await startClientAdmin({
          client,
          configFile,
          ...config.webServer,
          logger: log,
          stop: () => process.kill(process.pid, 'SIGTERM'),
        })
      : undefined;
  if (admin) page?.onReady(admin.port);
  onShutdown(async () => {
    client.stop();
    await admin?.close();
  });
  if (configFile) {
    // SIGHUP re-reads the file like GET /api/reload; a bad file is refused and nothing changes.
    process.on('SIGHUP', () => {
      try {
        reloadFromFile(client, configFile, log);
      } catch (err) {
        log.error(`reload refused, the running configuration is unchanged: ${describeError(err)}`);
      }
    });
  }
  await client.start();
}
