import { BurrowClient } from '../client/client.js';
import { reloadFromFile, startClientAdmin } from '../admin/client-api.js';
import type { ClientConfig } from '../config/types.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { onShutdown } from './process-setup.js';
import { keepHeapSmall } from '../util/heap-trim.js';

/**
 * The running side of `burrow client|tcp|http` and `frpc`: each parses its own
 * command line, then calls this (a separate file from the server's, so a client
 * process does not load the server and its metrics).
 */

export interface RunClientOptions {
  configFile?: string;
  /** the --allow-unsafe features, which a reload keeps */
  allowUnsafe?: readonly string[];
  /** serve the admin API even when webServer.port is 0 (then on a port the OS picks) */
  alwaysAdmin?: boolean;
  /**
   * Called before the first login with the client and its admin API's port
   * (the one-line commands' live view and name retries); the function it
   * returns runs at shutdown, after the client stopped.
   */
  attach?(client: BurrowClient, adminPort: number | undefined): () => void;
}

export async function runClient(config: ClientConfig, log: Logger, opts: RunClientOptions = {}): Promise<void> {
  const { configFile, alwaysAdmin, allowUnsafe } = opts;
  keepHeapSmall(log);
  const client = new BurrowClient(config, log);
  const admin =
    config.webServer.port > 0 || alwaysAdmin
      ? await startClientAdmin({
          client,
          configFile,
          allowUnsafe,
          ...config.webServer,
          logger: log,
          stop: () => process.kill(process.pid, 'SIGTERM'),
        })
      : undefined;
  const detach = opts.attach?.(client, admin?.port);
  onShutdown(async () => {
    client.stop();
    detach?.();
    await admin?.close();
  });
  if (configFile) {
    // SIGHUP re-reads the file like GET /api/reload; a bad file is refused and nothing changes.
    process.on('SIGHUP', () => {
      try {
        reloadFromFile(client, configFile, log, allowUnsafe);
      } catch (err) {
        log.error(`reload refused, the running configuration is unchanged: ${describeError(err)}`);
      }
    });
  }
  await client.start();
}
