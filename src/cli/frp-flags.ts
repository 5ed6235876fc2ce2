/**
 * A command-line parser that reads frp's command lines as frp's flag library
 * (cobra + pflag) does: `--name value`, `--name=value`, `-x value`, `-xvalue`,
 * `-x=value`, combined boolean shorthands, `--` ending the flags, flags and
 * words in any order, and `_` in a flag name read as `-` (frp's
 * normalisation: `--server_addr` and `--server-addr` are one flag).
 * Its errors read as pflag's, so scripts that match them keep working.
 */

export type FlagKind = 'string' | 'int' | 'bool' | 'list' | 'map' | 'duration';

export interface FlagSpec {
  /** long name with dashes */
  name: string;
  short?: string;
  kind: FlagKind;
  /** dotted key in the config object the flag sets (e.g. `transport.tls.enable`) */
  path?: string;
}

export type FlagValue = string | number | boolean | string[] | Record<string, string>;

/** A command-line mistake: printed as `Error: …` with a usage hint, exit code 1 (cobra's behaviour). */
export class FlagError extends Error {}

export interface ParsedFlags {
  /** by long name; only the flags given */
  values: Map<string, FlagValue>;
  positionals: string[];
}

export const normalizeFlagName = (name: string): string => name.replaceAll('_', '-');

/** Go's time.ParseDuration for what people write: `30s`, `1m30s`, `500ms`, `1.5h`. */
export function parseGoDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  return at > 0 ? total : undefined;
}

function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function convert(spec: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  const invalid = (why: string): FlagError => new FlagError(`invalid argument "${raw}" for "${flagLabel(spec)}" flag: ${why}`);
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw)) throw invalid(`parsing "${raw}": invalid syntax`);
      return Number(raw);
    }
    case 'bool': {
      const t = ['1', 't', 'T', 'true', 'TRUE', 'True'];
      const f = ['0', 'f', 'F', 'false', 'FALSE', 'False'];
      if (t.includes(raw)) return true;
      if (f.includes(raw)) return false;
      throw invalid(`parsing "${raw}": invalid syntax`);
    }
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw invalid(`time: invalid duration "${raw}"`);
      return ms;
    }
    case 'list': {
      // A repeated list flag adds to what the earlier ones gave.
      const items = raw === '' ? [] : raw.split(',').map((s) => s.trim());
      return [...(Array.isArray(previous) ? previous : []), ...items];
    }
    case 'map': {
      const out: Record<string, string> = { ...(previous !== undefined && typeof previous === 'object' && !Array.isArray(previous) ? previous : {}) };
      for (const pair of raw === '' ? [] : raw.split(',')) {
        const eq = pair.indexOf('=');
        if (eq < 0) throw invalid(`${pair} must be formatted as key=value`);
        out[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return out;
    }
  }
}

/** Parses `args` against `specs`; unknown flags and missing values throw a FlagError worded as pflag's. */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [normalizeFlagName(s.name), s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values = new Map<string, FlagValue>();
  const positionals: string[] = [];
  const set = (spec: FlagSpec, raw: string): void => void values.set(spec.name, convert(spec, raw, values.get(spec.name)));

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = normalizeFlagName(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, arg.slice(eq + 1));
      else if (spec.kind === 'bool') set(spec, 'true');
      else if (i + 1 < args.length) set(spec, args[++i]!);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Shorthands: booleans may be combined (-ab); a value follows the letter, after `=`, or as the next word.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${letter}' in ${arg}`);
        const rest = arg.slice(j + 1);
        if (rest.startsWith('=')) {
          set(spec, rest.slice(1));
          break;
        }
        if (spec.kind === 'bool') {
          set(spec, 'true');
          continue;
        }
        if (rest !== '') set(spec, rest);
        else if (i + 1 < args.length) set(spec, args[++i]!);
        else throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { values, positionals };
}

/**
 * The command words before the flags that belong to them (`frpc stcp visitor
 * -n x` → ['stcp', 'visitor']), skipping the values of the flags it knows, as
 * cobra finds a subcommand. `subcommands` gives the subcommands of a path;
 * the words after the last command are left for the command.
 */
export function findCommand(
  args: readonly string[],
  specs: readonly FlagSpec[],
  subcommands: (path: string[]) => readonly string[],
): { path: string[]; rest: string[] } {
  const takesValue = (arg: string): boolean => {
    if (arg.includes('=')) return false;
    const spec = arg.startsWith('--')
      ? specs.find((s) => normalizeFlagName(s.name) === normalizeFlagName(arg.slice(2)))
      : arg.length === 2
        ? specs.find((s) => s.short === arg[1])
        : undefined;
    // An unknown `--flag` is taken to have a value, as cobra does; its error comes later.
    if (!spec) return arg.startsWith('--');
    return spec.kind !== 'bool';
  };
  const path: string[] = [];
  const rest: string[] = [];
  // Only the leading bare words name commands: after a word that is none, the rest are arguments.
  let words = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      rest.push(arg);
      if (takesValue(arg) && i + 1 < args.length) rest.push(args[++i]!);
      continue;
    }
    if (words && subcommands(path).includes(arg)) path.push(arg);
    else {
      words = false;
      rest.push(arg);
    }
  }
  return { path, rest };
}

/** Sets `value` at a dotted `path` in `target`, creating the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    at = (typeof next === 'object' && next !== null ? next : (at[k] = {})) as Record<string, unknown>;
  }
  at[keys[keys.length - 1]!] = value;
}

/** The config object the given flags describe, over `defaults`. */
export function configFromFlags(
  values: ReadonlyMap<string, FlagValue>,
  specs: readonly FlagSpec[],
  defaults: Record<string, unknown> = {},
): Record<string, unknown> {
  const out = structuredClone(defaults);
  for (const spec of specs) {
    const v = values.get(spec.name);
    if (v !== undefined && spec.path) setPath(out, spec.path, v);
  }
  return out;
}
