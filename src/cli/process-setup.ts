import { createLogger, type LogLevel, type Logger } from '../util/logger.js';
import { createFileSink } from '../util/log-file.js';
import { logReusedReadsSetting } from '../relay/reused-reads.js';

/**
 * What every running command sets up in its process: the logger from the
 * command line and config, and a clean stop on SIGINT/SIGTERM.
 */

/** Level and format from the command line or the config's `log` table; `log.to` a file path writes there, rotated daily. */
export function loggerFrom(
  values: { 'log-level'?: string; 'log-format'?: string },
  settings: { level: string; to?: string; maxDays?: number } = { level: 'info' },
): Logger {
  const to = settings.to ?? 'console';
  const format = values['log-format'] === 'json' ? 'json' : 'text';
  const log = createLogger({
    level: (values['log-level'] ?? settings.level) as LogLevel,
    format,
    ...(to !== 'console' && to !== '' ? { write: createFileSink(to, settings.maxDays ?? 3, { format }) } : {}),
  });
  logReusedReadsSetting(log);
  return log;
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
