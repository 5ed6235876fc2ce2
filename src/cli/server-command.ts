import { buildServerConfig, loadServerConfig } from '../config/load.js';
import { parseAllowUnsafe } from '../config/value-source.js';
import { FRPS_SERVER_FLAGS } from './frp-flag-tables.js';
import { configFromFlags, FlagError, parseFlags, type FlagSpec } from './frp-flags.js';
import { loggerFrom } from './process-setup.js';
import { withServerCliDefaults } from './run-defaults.js';

/** The server's module graph loads when it runs, not for --help or a flag error. */
const runServer: typeof import('./run-server.js').runServer = async (...args) => (await import('./run-server.js')).runServer(...args);

/** burrow's own flags of `burrow server`; frps's server flags are taken beside them. */
const OWN_FLAGS: readonly FlagSpec[] = [
  { name: 'config', short: 'c', kind: 'string' },
  { name: 'help', short: 'h', kind: 'bool' },
  { name: 'allow-empty-token', kind: 'bool' },
  { name: 'allow-unsafe', kind: 'list' },
  { name: 'log-format', kind: 'string' },
];

/** frps flags that `burrow server` does not take (they have their own spelling here, or frps refuses them too). */
const NOT_HERE = new Set(['log-level', 'dashboard-tls-mode', 'dashboard-tls-cert-file', 'dashboard-tls-key-file']);
const FRPS_FLAGS = FRPS_SERVER_FLAGS.filter((s) => !NOT_HERE.has(s.name));
const SPECS: readonly FlagSpec[] = [...OWN_FLAGS, { name: 'log-level', kind: 'string', path: 'log.level' }, ...FRPS_FLAGS];

export const SERVER_FLAGS_HELP = FRPS_FLAGS.map((s) => `${s.short ? `-${s.short}, ` : ''}--${s.name}`).join(' ');

/**
 * `burrow server`: with `-c FILE`, the file; without, frps's flags describe
 * the server (`burrow server -t TOKEN --subdomain-host example.com
 * --vhost-http-port 80`), with burrow's safe defaults rather than frps's
 * (the dashboard stays on loopback unless --dashboard-addr says otherwise,
 * and an empty token on a public address still needs --allow-empty-token).
 * Unlike frps, flags given together with -c are an error, not ignored.
 */
export async function runServerCommand(args: string[], help: string): Promise<void> {
  const { values, positionals } = parseFlags(args, SPECS);
  if (values.get('help') === true) return void console.log(help);
  if (positionals.length > 0) throw new FlagError(`unexpected argument "${positionals[0]}" for "burrow server"`);
  const file = values.get('config') as string | undefined;
  const given = FRPS_FLAGS.filter((s) => values.has(s.name)).map((s) => `--${s.name}`);
  if (file !== undefined && given.length > 0) {
    throw new FlagError(`${given.join(', ')} cannot be used with -c: set the key in ${file} instead`);
  }
  const warnings: string[] = [];
  const allowUnsafe = parseAllowUnsafe((values.get('allow-unsafe') as string[] | undefined) ?? []);
  const loaded = file
    ? loadServerConfig(file, { allowUnsafe, onWarning: (w) => warnings.push(w) })
    : buildServerConfig(configFromFlags(values, FRPS_FLAGS), 'command line');
  const cli = { 'log-level': values.get('log-level') as string | undefined, 'log-format': values.get('log-format') as string | undefined };
  const log = loggerFrom(cli, loaded.log);
  for (const w of warnings) log.warn(`config: ${w}`);
  await runServer(withServerCliDefaults(loaded, file, values.get('allow-empty-token') === true, log), log, file, allowUnsafe);
}
