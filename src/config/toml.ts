import { parse } from 'smol-toml';
import { describeError } from '../util/errors.js';
import { defaultOf, isPlainObject, type SchemaNode } from './schema-engine.js';

/** Parses TOML; a syntax error comes back as one problem line with its position. */
export function parseTomlText(text: string): { value?: unknown; problem?: string } {
  try {
    return { value: parse(text) };
  } catch (err) {
    const e = err as { line?: number; column?: number };
    const first = describeError(err)
      .split('\n')[0]!
      .replace(/^Invalid TOML document: /, '');
    const at = typeof e.line === 'number' ? `line ${e.line}, column ${e.column ?? 0}: ` : '';
    return { problem: `cannot parse TOML: ${at}${first}` };
  }
}

type ObjectNode = Extract<SchemaNode, { kind: 'object' }>;

/**
 * Writes a validated configuration as frp's TOML: only keys that differ from
 * the default, in schema order (stable), nested tables as dotted keys, and the
 * top-level lists of tables (`proxies`, `visitors`, `httpPlugins`) as `[[…]]`
 * sections. Required keys, a table's variant key (`type`) and the top-level
 * keys in `always` are always written, and an optional block that is present
 * keeps at least one key, so loading the output gives back the same
 * configuration.
 */
export function toToml(schema: SchemaNode, value: unknown, always: readonly string[] = []): string {
  if (schema.kind !== 'object' || !isPlainObject(value)) return '';
  const head: string[] = [];
  const tables: string[] = [];
  for (const [key, child] of Object.entries(schema.fields)) {
    const v = value[key];
    if (v === undefined) continue;
    if (always.includes(key)) {
      head.push(`${formatKey(key)} = ${formatValue(v)}`);
      continue;
    }
    if (child.kind === 'list' && child.item.kind === 'object' && Array.isArray(v)) {
      for (const item of v) {
        tables.push(`[[${formatKey(key)}]]`, ...lines(child.item, item, []), '');
      }
      continue;
    }
    head.push(...lines({ kind: 'object', fields: { [key]: child } }, { [key]: v }, []));
  }
  const out = [...head];
  if (head.length > 0 && tables.length > 0) out.push('');
  out.push(...tables);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/** `a.b.c = value` lines for the non-default keys of one table. */
function lines(node: ObjectNode, value: unknown, prefix: readonly string[]): string[] {
  if (!isPlainObject(value)) return [];
  const out: string[] = [];
  const always = new Set([...(node.required ?? []), ...(node.variant ? [node.variant.key] : [])]);
  for (const [key, child] of Object.entries(node.fields)) {
    const v = value[key];
    if (v === undefined) continue;
    const path = [...prefix, key];
    if (child.kind === 'object') {
      const inner = lines(child, v, path);
      if (inner.length === 0 && child.optional) {
        // Present but all defaults: write one key so the block stays present.
        const first = Object.keys(child.fields).find((k) => isPlainObject(v) && v[k] !== undefined);
        if (first && isPlainObject(v)) out.push(`${dotted([...path, first])} = ${formatValue(v[first])}`);
        else out.push(`${dotted(path)} = {}`);
      }
      out.push(...inner);
      continue;
    }
    if (!always.has(key) && !child.optional && sameValue(v, defaultOf(child))) continue;
    if ((child.kind === 'stringMap' || child.kind === 'boolMap') && isPlainObject(v)) {
      const entries = Object.entries(v);
      if (entries.length === 0) out.push(`${dotted(path)} = {}`);
      for (const [k, mv] of entries) out.push(`${dotted([...path, k])} = ${formatValue(mv)}`);
      continue;
    }
    if (child.kind === 'portRanges' && Array.isArray(v)) {
      const items = (v as { start: number; end: number }[]).map((r) =>
        r.start === r.end ? `{ single = ${r.start} }` : `{ start = ${r.start}, end = ${r.end} }`,
      );
      out.push(`${dotted(path)} = [${items.join(', ')}]`);
      continue;
    }
    out.push(`${dotted(path)} = ${formatValue(v)}`);
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function dotted(path: readonly string[]): string {
  return path.map(formatKey).join('.');
}

function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : formatString(key);
}

/** TOML basic string: JSON's escapes are valid TOML, plus DEL, which TOML also wants escaped. */
function formatString(s: string): string {
  return JSON.stringify(s).replace(/\x7f/g, '\\u007f');
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return formatString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (isPlainObject(v)) {
    const parts = Object.entries(v).map(([k, x]) => `${formatKey(k)} = ${formatValue(x)}`);
    return parts.length > 0 ? `{ ${parts.join(', ')} }` : '{}';
  }
  return formatString(String(v));
}
