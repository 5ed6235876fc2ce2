import { buildServerConfig } from '../config/load.js';
import type { ServerConfig } from '../config/types.js';
import { allowUnsafeFlag, FrpCommandError, loadForFrp, printVersion, refuseUnsupportedRootFlags, runFrpMain, verifyForFrp } from './frp-command.js';
import { FRPS_FLAG_DEFAULTS, FRPS_ROOT_FLAGS, FRPS_SERVER_FLAGS } from './frp-flag-tables.js';
import { configFromFlags, findCommand, FlagError, parseFlags, type FlagValue } from './frp-flags.js';
import { loggerFrom } from './process-setup.js';
import { withServerCliDefaults } from './run-defaults.js';

/** The server's module graph loads only when it runs, so -v, verify and help start fast. */
const runServer: typeof import('./run-server.js').runServer = async (...args) => (await import('./run-server.js')).runServer(...args);

/**
 * `frps`: frp's server command line, run by burrow's server. With a file
 * (`frps -c frps.toml`) or with frps's flags (`frps -p 7000 -t TOKEN …`).
 * Unlike `burrow server`, an empty token on a public address is started with
 * a warning, as frps starts it, so frp setups run unchanged.
 */

const SPECS = [...FRPS_ROOT_FLAGS, ...FRPS_SERVER_FLAGS];

const USAGE = `frps is the server of frp (here burrow's, speaking frp's protocol)

Usage:
  frps [flags]
  frps [command]

Available Commands:
  verify      Verify that the configures is valid

Flags:
${SPECS.map((s) => `  ${s.short ? `-${s.short}, ` : '    '}--${s.name}`).join('\n')}

Use "frps [command] --help" for more information about a command.`;

/** The server config frps's flags describe (used only without -c, as frps). */
function serverFromFlags(values: ReadonlyMap<string, FlagValue>): ServerConfig {
  const raw = configFromFlags(values, FRPS_SERVER_FLAGS, FRPS_FLAG_DEFAULTS);
  // As frps: the dashboard's certificate flags count only with --dashboard-tls-mode.
  if (values.get('dashboard-tls-mode') === true) {
    const tls = { certFile: values.get('dashboard-tls-cert-file') ?? '', keyFile: values.get('dashboard-tls-key-file') ?? '' };
    raw.webServer = { ...(raw.webServer as Record<string, unknown>), tls };
  }
  try {
    return buildServerConfig(raw, 'command line');
  } catch (err) {
    throw new FrpCommandError(err instanceof Error ? err.message : String(err));
  }
}

async function main(argv: string[]): Promise<void> {
  const { path, rest } = findCommand(argv, SPECS, (p) => (p.length === 0 ? ['verify', 'help', 'completion'] : []));
  const { values, positionals } = parseFlags(rest, SPECS);
  const [cmd] = path;
  if (values.get('help') === true || cmd === 'help') return void console.log(USAGE);
  refuseUnsupportedRootFlags(values);
  const file = values.get('config') as string | undefined;

  if (cmd === 'verify') {
    if (file === undefined) return void console.log('frps: the configuration file is not specified');
    return verifyForFrp('frps', file, allowUnsafeFlag(values));
  }
  if (cmd === 'completion') throw new FrpCommandError('frps completion is not supported by burrow');
  if (positionals.length > 0) throw new FlagError(`unknown command "${positionals[0]}" for "frps"`);
  if (values.get('version') === true) return printVersion();

  const fromFile = file !== undefined ? loadForFrp(file, 'server', allowUnsafeFlag(values)) : undefined;
  const loaded = fromFile ? (fromFile.config as ServerConfig) : serverFromFlags(values);
  const log = loggerFrom({}, loaded.log);
  for (const w of fromFile?.warnings ?? []) log.warn(`config: ${w}`);
  if (file !== undefined) {
    const ignored = FRPS_SERVER_FLAGS.filter((s) => values.has(s.name)).map((s) => `--${s.name}`);
    // frps ignores its flags when a file is given; burrow does too, but says so.
    if (ignored.length > 0) log.warn(`ignored with -c, as frps does: ${ignored.join(' ')}`);
    log.info(`frps uses config file: ${file}`);
  } else {
    log.info('frps uses command line arguments for config');
  }
  // As frps: an open server (empty token) starts, with the warning the start policy prints.
  const config = withServerCliDefaults(loaded, file, true, log);
  await runServer(config, log, file, allowUnsafeFlag(values));
  log.info('frps started successfully');
}

/** `frps` as frp's command line takes it. */
export const runFrpsCommand = (): void => runFrpMain('frps', () => main(process.argv.slice(2)));
