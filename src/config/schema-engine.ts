/**
 * The config schema engine: a tiny declarative schema, its validator, and the
 * TypeScript type each schema describes. Each node says what a key holds and
 * its default. `validate` walks raw parsed data (TOML/YAML/JSON, or INI
 * already mapped to the TOML shape), fills defaults, and collects every error
 * with its path (`proxies[1].localPort: ...`) instead of stopping at the first,
 * so a user fixes a file in one go.
 *
 * Presence rules of the output (they keep the typed objects small and equal
 * whatever format they came from):
 * - a field marked `optional` is left out when the input does not give it;
 * - a field listed in the parent's `variant.only` is left out for the variants
 *   that do not accept it (and is an error when given there);
 * - every other field is present, with its default when not given.
 *
 * `ConfigOf<typeof node>` states the same rules as a type, so a schema written
 * `as const satisfies SchemaNode` is also the one definition of its config
 * type (see types.ts); the two cannot drift apart.
 */
interface NodeBase {
  /** left out of the output when absent from the input */
  optional?: boolean;
}

export interface VariantRule {
  /** the key of the same table whose value picks the variant (`type`) */
  key: string;
  /** how an error names the variant: `not valid for ${label} "tcp"` */
  label: string;
  /** keys that only some variants accept */
  only: Readonly<Record<string, readonly string[]>>;
}

/**
 * A Node timer cannot wait longer than 2^31-1 ms and fires at once past it, so
 * a longer duration would act as none. Unlike frp, whose Go timers take any
 * value, durations past these are refused.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

export type SchemaNode = NodeBase &
  (
    | { kind: 'string'; default?: string; oneOf?: readonly string[]; pattern?: RegExp; patternHint?: string }
    | { kind: 'int'; default?: number; min?: number; max?: number }
    | { kind: 'bool'; default?: boolean }
    | { kind: 'stringList'; default?: readonly string[]; oneOf?: readonly string[] }
    | { kind: 'stringMap' }
    | { kind: 'boolMap' }
    | {
        kind: 'object';
        fields: Readonly<Record<string, SchemaNode>>;
        required?: readonly string[];
        variant?: VariantRule;
      }
    | { kind: 'list'; item: SchemaNode }
    | { kind: 'portRanges' }
  );

export interface PortRange {
  start: number;
  end: number;
}

/** Node builders for the common cases; their literal `kind` keeps `ConfigOf` precise. */
export const str = (def = '') => ({ kind: 'string', default: def }) as const;
export const bool = (def = false) => ({ kind: 'bool', default: def }) as const;
export const int = (def: number, min?: number, max?: number) => ({ kind: 'int', default: def, min, max }) as const;
export const port = (def: number, min = 1) => ({ kind: 'int', default: def, min, max: 65535 }) as const;
export const seconds = (def: number) => ({ kind: 'int', default: def, max: MAX_TIMER_SECONDS }) as const;
export const count = (def: number, max?: number) => ({ kind: 'int', default: def, min: 0, max }) as const;

/**
 * The value `validate` returns for a node, as a type: `oneOf` lists written
 * `as const` become string-literal unions, and an object's `optional` fields and
 * `variant.only` fields are optional properties (present only when given, or
 * only for the variants that accept them); every other field is always there.
 */
export type ConfigOf<N> = N extends { kind: 'string' }
  ? OneOf<N, string>
  : N extends { kind: 'int' }
    ? number
    : N extends { kind: 'bool' }
      ? boolean
      : N extends { kind: 'stringList' }
        ? OneOf<N, string>[]
        : N extends { kind: 'stringMap' }
          ? Record<string, string>
          : N extends { kind: 'boolMap' }
            ? Record<string, boolean>
            : N extends { kind: 'list'; item: infer I }
              ? ConfigOf<I>[]
              : N extends { kind: 'portRanges' }
                ? PortRange[]
                : N extends { kind: 'object'; fields: infer F }
                  ? ObjectOf<F, SometimesPresent<N, F>>
                  : never;

type OneOf<N, Else> = N extends { oneOf: readonly (infer S)[] } ? S : Else;

/** The keys of an object node that its output may lack. */
type SometimesPresent<N, F> =
  | { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F]
  | (N extends { variant: { only: infer O } } ? keyof O : never);

type ObjectOf<F, P> = Flatten<
  { -readonly [K in keyof F as K extends P ? never : K]: ConfigOf<F[K]> } & {
    -readonly [K in keyof F as K extends P ? K : never]?: ConfigOf<F[K]>;
  }
>;

/** One object type instead of an intersection, for readable hovers and errors. */
export type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** Receives one problem: the dotted path of the key and what is wrong with it. */
export type ProblemSink = (path: string, message: string) => void;

/** Renders a problem the way every config error reads: `path: message`. */
export function formatProblem(path: string, message: string): string {
  return `${path || '(top level)'}: ${message}`;
}

/**
 * Validates `raw` against `node`, reporting each problem to `sink`, and returns
 * the value with defaults filled. The one place where the runtime output is
 * given its type: `validateNode` builds exactly the shape `ConfigOf` describes.
 */
export function validate<N extends SchemaNode>(node: N, raw: unknown, path: string, sink: ProblemSink): ConfigOf<N> {
  return validateNode(node, raw, path, sink) as ConfigOf<N>;
}

/** The value a node takes when the input does not give it. */
export function defaultOf(node: SchemaNode): unknown {
  return validateNode(node, undefined, '', () => undefined);
}

/** The node that describes `path` (`['transport', 'tls', 'enable']`), looking through lists. */
export function schemaAt(node: SchemaNode, path: readonly string[]): SchemaNode | undefined {
  let cur: SchemaNode | undefined = node;
  for (const part of path) {
    while (cur?.kind === 'list') cur = cur.item;
    if (cur?.kind !== 'object' || !Object.hasOwn(cur.fields, part)) return undefined;
    cur = cur.fields[part];
  }
  return cur;
}

function validateNode(node: SchemaNode, raw: unknown, path: string, sink: ProblemSink): unknown {
  switch (node.kind) {
    case 'string': {
      if (raw === undefined) return node.default ?? '';
      if (typeof raw !== 'string') {
        sink(path, `expected a string, got ${describe(raw)}`);
        return node.default ?? '';
      }
      // frp fills an empty choice with its default (`authentication_method = ` is token).
      if (raw === '' && node.oneOf && node.default !== undefined) return node.default;
      if (node.oneOf && !node.oneOf.includes(raw)) {
        sink(path, `expected one of ${node.oneOf.join(', ')}, got "${raw}"`);
      } else if (node.pattern && !node.pattern.test(raw)) {
        sink(path, `expected ${node.patternHint ?? `a value matching ${String(node.pattern)}`}, got "${raw}"`);
      }
      return raw;
    }
    case 'int': {
      if (raw === undefined) return node.default ?? 0;
      // Past 2^53 a number is no longer exact: it would not survive being written back as TOML.
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
        sink(path, `expected a whole number${typeof raw === 'number' && Number.isInteger(raw) ? ' within ±(2^53-1)' : ''}, got ${describe(raw)}`);
        return node.default ?? 0;
      }
      if ((node.min !== undefined && raw < node.min) || (node.max !== undefined && raw > node.max)) {
        sink(path, `${raw} is out of range ${node.min ?? '-∞'}–${node.max ?? '∞'}`);
      }
      return raw;
    }
    case 'bool': {
      if (raw === undefined) return node.default ?? false;
      if (typeof raw !== 'boolean') {
        sink(path, `expected true or false, got ${describe(raw)}`);
        return node.default ?? false;
      }
      return raw;
    }
    case 'stringList': {
      if (raw === undefined) return [...(node.default ?? [])];
      if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
        sink(path, `expected a list of strings, got ${describe(raw)}`);
        return [...(node.default ?? [])];
      }
      const list = raw as string[];
      const oneOf = node.oneOf;
      if (oneOf) {
        list.forEach((v, i) => {
          if (!oneOf.includes(v)) sink(`${path}[${i}]`, `expected one of ${oneOf.join(', ')}, got "${v}"`);
        });
      }
      return [...list];
    }
    case 'stringMap':
    case 'boolMap': {
      if (raw === undefined) return {};
      const want = node.kind === 'stringMap' ? 'string' : 'boolean';
      if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== want)) {
        sink(path, `expected a table of ${want === 'string' ? 'strings' : 'true/false values'}, got ${describe(raw)}`);
        return {};
      }
      return { ...raw };
    }
    case 'list': {
      if (raw === undefined) return [];
      if (!Array.isArray(raw)) {
        sink(path, `expected a list, got ${describe(raw)}`);
        return [];
      }
      return raw.map((item, i) => validateNode(node.item, item, `${path}[${i}]`, sink));
    }
    case 'portRanges':
      return parsePortRanges(raw, path, sink);
    case 'object':
      return validateObject(node, raw, path, sink);
  }
}

function validateObject(node: Extract<SchemaNode, { kind: 'object' }>, raw: unknown, path: string, sink: ProblemSink): Record<string, unknown> {
  const value = raw === undefined ? {} : raw;
  if (!isPlainObject(value)) {
    sink(path, `expected a table, got ${describe(raw)}`);
    return validateObject(node, {}, path, () => undefined);
  }
  const rule = node.variant;
  const variant = rule ? variantOf(node, rule, value) : undefined;
  const accepts = (key: string): boolean => {
    const only = rule?.only[key];
    return only === undefined || (variant !== undefined && only.includes(variant));
  };
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(node.fields, key)) {
      const hint = closestKey(key, Object.keys(node.fields));
      sink(join(path, key), `unknown key${hint ? `, did you mean ${hint}?` : ''}`);
    } else if (rule && variant !== undefined && !accepts(key) && value[key] !== undefined) {
      sink(join(path, key), `not valid for ${rule.label} "${variant}"`);
    }
  }
  for (const req of node.required ?? []) {
    if (value[req] === undefined && accepts(req)) sink(join(path, req), 'required');
  }
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.fields)) {
    if (!accepts(key)) continue;
    const given = Object.hasOwn(value, key) ? value[key] : undefined;
    if (child.optional && given === undefined) continue;
    out[key] = validateNode(child, given, join(path, key), sink);
  }
  return out;
}

/** The variant named by the discriminator, or undefined when it is not a known one. */
function variantOf(node: Extract<SchemaNode, { kind: 'object' }>, rule: VariantRule, value: Record<string, unknown>): string | undefined {
  const disc = node.fields[rule.key];
  const given = value[rule.key];
  const name = typeof given === 'string' ? given : disc?.kind === 'string' ? disc.default : undefined;
  if (name === undefined) return undefined;
  if (disc?.kind === 'string' && disc.oneOf && !disc.oneOf.includes(name)) return undefined;
  return name;
}

/** `allowPorts` as frp writes it: `[{ start, end }, { single }]`, or the INI string `2000-3000,3001`. */
function parsePortRanges(raw: unknown, path: string, sink: ProblemSink): PortRange[] {
  if (raw === undefined) return [];
  const ranges: PortRange[] = [];
  const add = (start: number, end: number, at: string): void => {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end > 65535 || start > end) {
      sink(at, `invalid port range ${start}-${end} (ports are 1–65535)`);
      return;
    }
    ranges.push({ start, end });
  };
  if (typeof raw === 'string') {
    for (const part of raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [a, b] = part.split('-').map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : NaN));
      add(a ?? NaN, b ?? a ?? NaN, path);
    }
    return ranges;
  }
  if (!Array.isArray(raw)) {
    sink(path, `expected a list of {start, end} or {single}, got ${describe(raw)}`);
    return ranges;
  }
  raw.forEach((item: unknown, i) => {
    const at = `${path}[${i}]`;
    const keys = isPlainObject(item) ? Object.keys(item).sort().join(',') : '';
    if (isPlainObject(item) && keys === 'single' && typeof item.single === 'number') add(item.single, item.single, at);
    else if (isPlainObject(item) && keys === 'end,start' && typeof item.start === 'number' && typeof item.end === 'number') {
      add(item.start, item.end, at);
    } else sink(at, 'expected {start, end} or {single}');
  });
  return ranges;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'object') return 'a table';
  return String(v);
}

/** The known key within edit distance 2 (case-insensitive), for "did you mean". */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
