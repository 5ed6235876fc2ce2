import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clientSchema } from '../config/client-schema.js';
import { ConfigError, loadConfigFile, type ConfigKind, type LoadedConfigFile } from '../config/load.js';
import { serverSchema } from '../config/server-schema.js';
import { toToml } from '../config/toml.js';
import { parseAllowUnsafe } from '../config/value-source.js';
import { describeError } from '../util/errors.js';

/** Where the commands print; tests pass their own. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const consoleOutput: CliOutput = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export const VERIFY_HELP = `Usage: burrow verify -c <file> [--kind server|client] [--allow-unsafe=TokenSourceExec]

Checks a configuration file (frp's INI, TOML, YAML or JSON) without starting
anything. Prints "<file>: OK", or every problem with where it is in the file.
Exit code 0 when the file is valid, 1 otherwise. Server or client is read from
the keys (bindPort → server, serverAddr/proxies → client) unless --kind says.
An exec tokenSource is refused unless --allow-unsafe=TokenSourceExec (as frp);
its program is not run.`;

export const CONVERT_HELP = `Usage: burrow convert -c <file> [--to toml] [-o <out>] [--kind server|client]

Writes the configuration in frp's TOML format (only keys that differ from the
defaults, in a stable order): to <out>, or to stdout. Typical use:
  burrow convert -c frpc.ini --to toml -o frpc.toml
{{ .Envs.NAME }} templates are rendered with the current environment, so the
output holds their values. Files named by "includes" are not converted.`;

const options = {
  config: { type: 'string', short: 'c' },
  kind: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'allow-unsafe': { type: 'string', multiple: true },
} as const;

function kindOf(value: string | undefined): ConfigKind | undefined {
  if (value === undefined) return undefined;
  if (value === 'server' || value === 'client') return value;
  throw new Error(`--kind must be server or client, got "${value}"`);
}

/** Loads `file`, printing its problems; undefined when it is invalid (exit code set to 1). */
function load(file: string, kind: ConfigKind | undefined, io: CliOutput, allowUnsafe: readonly string[] = []): LoadedConfigFile | undefined {
  try {
    const loaded = loadConfigFile(file, { kind, allowUnsafe, runTokenExec: false });
    for (const w of loaded.warnings) io.err(`${file}: warning: ${w}\n`);
    return loaded;
  } catch (err) {
    process.exitCode = 1;
    if (err instanceof ConfigError) {
      for (const w of err.warnings) io.err(`${file}: warning: ${w}\n`);
      io.err(`${file}: ${err.problems.length} problem(s):\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
      return undefined;
    }
    io.err(`${file}: ${describeError(err)}\n`);
    return undefined;
  }
}

/** `burrow verify -c <file>` */
export function runVerify(args: string[], io: CliOutput = consoleOutput): void {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (values.help) return void io.out(`${VERIFY_HELP}\n`);
  const files = [...(values.config ? [values.config] : []), ...positionals];
  if (files.length === 0) throw new Error('burrow verify needs a file: burrow verify -c frpc.toml');
  const kind = kindOf(values.kind);
  const allowUnsafe = parseAllowUnsafe(values['allow-unsafe'] ?? []);
  for (const file of files) {
    const loaded = load(file, kind, io, allowUnsafe);
    if (loaded) io.out(`${file}: OK\n`);
  }
}

/** `burrow convert -c frpc.ini --to toml [-o frpc.toml]` */
export function runConvert(args: string[], io: CliOutput = consoleOutput): void {
  const { values } = parseArgs({
    args,
    options: { ...options, to: { type: 'string' }, output: { type: 'string', short: 'o' } },
    strict: true,
  });
  if (values.help) return void io.out(`${CONVERT_HELP}\n`);
  if (!values.config) throw new Error('burrow convert needs a file: burrow convert -c frpc.ini --to toml');
  const to = values.to ?? 'toml';
  if (to !== 'toml') throw new Error(`burrow convert writes toml (frp's current format), not "${to}"`);
  const file = values.config;
  if (values.output && resolve(values.output) === resolve(file)) throw new Error('burrow convert: -o must not be the input file');
  const loaded = load(file, kindOf(values.kind), io, parseAllowUnsafe(values['allow-unsafe'] ?? []));
  if (!loaded) return;
  // The server/client keys are written even at their defaults, so the output says what it is.
  const text =
    loaded.kind === 'server' ? toToml(serverSchema, loaded.normalized, ['bindPort']) : toToml(clientSchema, loaded.normalized, ['serverAddr', 'serverPort']);
  if (readFileSync(file, 'utf8').includes('{{')) {
    io.err(`${file}: note: templates were rendered with the current environment; the output holds their values\n`);
  }
  const includes = loaded.normalized.includes;
  if (Array.isArray(includes) && includes.length > 0) {
    io.err(`${file}: note: the files matched by includes are not converted; convert them and adjust the patterns\n`);
  }
  if (values.output) {
    writeFileSync(values.output, text);
    io.err(`${file}: written as TOML to ${values.output}\n`);
  } else {
    io.out(text);
  }
}
