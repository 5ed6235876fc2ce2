import { buildClientConfig, loadClientConfig } from '../config/load.js';
import type { ClientConfig } from '../config/types.js';
import { ADMIN_API_TIMEOUT_MS } from './admin-requests.js';
import { reloadClient, showClientStatus, stopClient } from './client-admin-commands.js';
import { allowUnsafeFlag, FrpCommandError, printVersion, refuseUnsupportedRootFlags, runFrpMain, verifyForFrp } from './frp-command.js';
import { FRPC_ADMIN_FLAGS, FRPC_COMMON_DEFAULTS, FRPC_COMMON_FLAGS, FRPC_PROXY_FLAGS, FRPC_ROOT_FLAGS, FRPC_VISITOR_FLAGS } from './frp-flag-tables.js';
import { configFromFlags, findCommand, FlagError, parseFlags, type FlagSpec } from './frp-flags.js';
import { loggerFrom } from './process-setup.js';

/** The client's module graph loads only on the paths that run it, so -v, verify, help and the admin commands start fast. */
const runClient: typeof import('./run-client.js').runClient = async (...args) => (await import('./run-client.js')).runClient(...args);

/**
 * `frpc`: frp's client command line, run by burrow's client. With a file
 * (`frpc -c frpc.toml`), without one (`frpc tcp -s … -P … -l … -r …`), and
 * the admin commands that talk to a running client (`frpc reload|status|stop`).
 */

const PROXY_TYPES = Object.keys(FRPC_PROXY_FLAGS);
const VISITOR_TYPES = ['stcp', 'sudp', 'xtcp'];
const ADMIN_COMMANDS = ['reload', 'status', 'stop'];
const COMMANDS = [...PROXY_TYPES, 'verify', ...ADMIN_COMMANDS, 'nathole', 'help', 'completion'];

/** As frp: without -c, frpc reads ./frpc.ini. */
const DEFAULT_CONFIG = './frpc.ini';

const USAGE = `frpc is the client of frp (here burrow's, speaking frp's protocol)

Usage:
  frpc [-c ./frpc.ini] [flags]
  frpc [command]

Available Commands:
  http        Run frpc with a single http proxy
  https       Run frpc with a single https proxy
  reload      Hot-Reload frpc configuration
  status      Overview of all proxies status
  stcp        Run frpc with a single stcp proxy
  stop        Stop the running frpc
  sudp        Run frpc with a single sudp proxy
  tcp         Run frpc with a single tcp proxy
  tcpmux      Run frpc with a single tcpmux proxy
  udp         Run frpc with a single udp proxy
  verify      Verify that the configures is valid
  xtcp        Run frpc with a single xtcp proxy

Flags:
      --allow-unsafe strings   allowed unsafe features, one or more of: TokenSourceExec
  -c, --config string          config file of frpc (default "./frpc.ini")
  -h, --help                   help for frpc
      --strict_config          strict config parsing mode, unknown fields will cause an errors (default true)
  -v, --version                version of frpc

Use "frpc [command] --help" for more information about a command.`;

function subcommands(path: string[]): readonly string[] {
  if (path.length === 0) return COMMANDS;
  if (path.length === 1 && VISITOR_TYPES.includes(path[0]!)) return ['visitor'];
  if (path.length === 1 && path[0] === 'nathole') return ['discover'];
  return [];
}

/** Every flag any frpc command knows: enough to tell a flag's value from a command word. */
function allSpecs(): FlagSpec[] {
  const seen = new Map<string, FlagSpec>();
  for (const s of [...FRPC_ROOT_FLAGS, ...FRPC_COMMON_FLAGS, ...Object.values(FRPC_PROXY_FLAGS).flat(), ...FRPC_VISITOR_FLAGS, ...FRPC_ADMIN_FLAGS])
    seen.set(s.name, s);
  return [...seen.values()];
}

function usageOf(path: string[]): string {
  if (path.length === 0) return USAGE;
  const specs = commandSpecs(path);
  const flags = specs.map((s) => `  ${s.short ? `-${s.short}, ` : '    '}--${s.name}`).join('\n');
  return `Usage:\n  frpc ${path.join(' ')} [flags]\n\nFlags:\n${flags}`;
}

function commandSpecs(path: string[]): FlagSpec[] {
  const [cmd, sub] = path;
  if (cmd === undefined || cmd === 'verify') return [...FRPC_ROOT_FLAGS];
  if (ADMIN_COMMANDS.includes(cmd)) return [...FRPC_ROOT_FLAGS, ...FRPC_ADMIN_FLAGS];
  if (sub === 'visitor') return [...FRPC_ROOT_FLAGS, ...FRPC_COMMON_FLAGS, ...FRPC_VISITOR_FLAGS];
  return [...FRPC_ROOT_FLAGS, ...FRPC_COMMON_FLAGS, ...(FRPC_PROXY_FLAGS[cmd] ?? [])];
}

/** The client config a no-file command line describes: the server flags and one proxy or visitor. */
function clientFromFlags(path: string[], values: ReturnType<typeof parseFlags>['values']): ClientConfig {
  const [type, sub] = path as [string, string | undefined];
  const raw = configFromFlags(values, FRPC_COMMON_FLAGS, FRPC_COMMON_DEFAULTS);
  if (sub === 'visitor') raw.visitors = [configFromFlags(values, FRPC_VISITOR_FLAGS, { type })];
  else raw.proxies = [configFromFlags(values, FRPC_PROXY_FLAGS[type]!, { type })];
  try {
    return buildClientConfig(raw, 'command line');
  } catch (err) {
    throw new FrpCommandError(err instanceof Error ? err.message : String(err));
  }
}

/** `runTokenExec` false: the command only needs the admin address, so a token program is checked, not run. */
function loadFile(file: string, allowUnsafe: readonly string[], onWarning?: (w: string) => void, runTokenExec = true): ClientConfig {
  try {
    return loadClientConfig(file, { allowUnsafe, onWarning, runTokenExec });
  } catch (err) {
    throw new FrpCommandError(err instanceof Error ? err.message : String(err));
  }
}

async function main(argv: string[]): Promise<void> {
  const { path, rest } = findCommand(argv, allSpecs(), subcommands);
  const { values, positionals } = parseFlags(rest, commandSpecs(path));
  const [cmd] = path;
  if (values.get('help') === true || cmd === 'help') return void console.log(usageOf(cmd === 'help' ? [] : path));
  refuseUnsupportedRootFlags(values);
  if (values.has('config-dir')) throw new FrpCommandError('--config_dir is not supported by burrow: run one frpc per config file');
  const allowUnsafe = allowUnsafeFlag(values);
  const file = (values.get('config') as string | undefined) ?? DEFAULT_CONFIG;

  switch (cmd) {
    case undefined: {
      if (positionals.length > 0) throw new FlagError(`unknown command "${positionals[0]}" for "frpc"`);
      if (values.get('version') === true) return printVersion();
      const warnings: string[] = [];
      const config = loadFile(file, allowUnsafe, (w) => warnings.push(w));
      const log = loggerFrom({}, config.log);
      for (const w of warnings) log.warn(`config: ${w}`);
      log.info(`start frpc service for config file [${file}]`);
      return runClient(config, log, { configFile: file, allowUnsafe });
    }
    case 'verify':
      return verifyForFrp('frpc', file, allowUnsafe);
    case 'reload':
    case 'status':
    case 'stop': {
      const timeoutMs = (values.get('api-timeout') as number | undefined) ?? ADMIN_API_TIMEOUT_MS;
      const config = loadFile(file, allowUnsafe, undefined, false);
      if (config.webServer.port <= 0) throw new FrpCommandError('web server port should be set if you want to use this feature');
      const action = cmd === 'reload' ? reloadClient : cmd === 'status' ? showClientStatus : stopClient;
      return action(config.webServer, timeoutMs, 'frp');
    }
    case 'nathole':
      throw new FrpCommandError('frpc nathole is not supported by burrow');
    case 'completion':
      throw new FrpCommandError('frpc completion is not supported by burrow');
    default: {
      const config = clientFromFlags(path, values);
      return runClient(config, loggerFrom({}, config.log));
    }
  }
}

/** `frpc` as frp's command line takes it. */
export const runFrpcCommand = (): void => runFrpMain('frpc', () => main(process.argv.slice(2)));
