import { ConfigError, loadConfigFile, type ConfigKind, type LoadedConfigFile } from '../config/load.js';
import { UNSAFE_FEATURES } from '../config/value-source.js';
import { describeError } from '../util/errors.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import { FlagError, type FlagValue } from './frp-flags.js';

/**
 * What `frpc` and `frps` share: frp prints its messages (errors included) on
 * stdout and exits 1 on any failure; a command-line mistake goes to stderr as
 * cobra's `Error: …` line. burrow's own log lines still go where `log.to` says.
 */

/** An error that ends the command with exit code 1 after its message is printed on stdout. */
export class FrpCommandError extends Error {}

/** frp's `-v`: the bare version number, which scripts compare; burrow speaks this frp release. */
export function printVersion(): void {
  console.log(FRP_COMPAT_VERSION);
}

/** Loads a config file for `verify` or a run; a bad file is a FrpCommandError with every problem. */
export function loadForFrp(file: string, kind: ConfigKind, allowUnsafe: readonly string[] = [], runTokenExec = true): LoadedConfigFile {
  try {
    return loadConfigFile(file, { kind, allowUnsafe, runTokenExec });
  } catch (err) {
    if (err instanceof ConfigError) throw new FrpCommandError([...err.warnings.map((w) => `WARNING: ${w}`), describeError(err)].join('\n'));
    throw new FrpCommandError(describeError(err));
  }
}

/** `frpc|frps verify -c FILE`: frp's "syntax is ok" line and exit 0, or the problems and exit 1. */
export function verifyForFrp(program: 'frpc' | 'frps', file: string, allowUnsafe: readonly string[]): void {
  // As frp's verify: a token program is checked for permission, not run.
  const loaded = loadForFrp(file, program === 'frps' ? 'server' : 'client', allowUnsafe, false);
  for (const w of loaded.warnings) console.log(`WARNING: ${w}`);
  console.log(`${program}: the configuration file ${file} syntax is ok`);
}

/** `--allow-unsafe` as frp takes it: a list, also comma-separated; names frp knows and burrow does not are left out, as frp ignores unknown ones. */
export function allowUnsafeFlag(values: ReadonlyMap<string, FlagValue>): string[] {
  const raw = values.get('allow-unsafe');
  const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  return list
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => (UNSAFE_FEATURES as readonly string[]).includes(v));
}

/**
 * frp's flags burrow takes but whose setting it cannot honour are refused by
 * name: `--strict-config=false` (burrow always reports unknown keys).
 */
export function refuseUnsupportedRootFlags(values: ReadonlyMap<string, FlagValue>): void {
  if (values.get('strict-config') === false) {
    throw new FrpCommandError('--strict-config=false is not supported: burrow always reports unknown keys in a config file');
  }
}

/** Runs a command's main: exit 1 with frp's output on failure; a running service keeps the process alive. */
export function runFrpMain(program: 'frpc' | 'frps', main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof FlagError) {
      process.stderr.write(`Error: ${err.message}\nRun '${program} --help' for usage.\n`);
    } else {
      console.log(describeError(err));
    }
    process.exit(1);
  });
}
