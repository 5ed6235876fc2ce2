/**
 * A tiny declarative schema: each node says what a key holds and its default.
 * `applySchema` walks raw parsed data (TOML/JSON), fills defaults, and collects
 * every error with its path (`proxies[1].localPort: ...`) instead of stopping
 * at the first, so a user fixes a file in one go.
 */
export type SchemaNode =
  | { kind: 'string'; default?: string; oneOf?: readonly string[] }
  | { kind: 'int'; default?: number; min?: number; max?: number }
  | { kind: 'bool'; default?: boolean }
  | { kind: 'stringList'; default?: readonly string[] }
  | { kind: 'stringMap' }
  | { kind: 'object'; fields: Readonly<Record<string, SchemaNode>>; required?: readonly string[] }
  | { kind: 'list'; item: SchemaNode }
  | { kind: 'portRanges' };

export interface PortRange {
  start: number;
  end: number;
}

export function applySchema(node: SchemaNode, raw: unknown, path: string, errors: string[]): unknown {
  const at = path || '(top level)';
  switch (node.kind) {
    case 'string': {
      if (raw === undefined) return node.default ?? '';
      if (typeof raw !== 'string') {
        errors.push(`${at}: expected a string, got ${describe(raw)}`);
        return node.default ?? '';
      }
      if (node.oneOf && !node.oneOf.includes(raw)) {
        errors.push(`${at}: expected one of ${node.oneOf.join(', ')}, got "${raw}"`);
      }
      return raw;
    }
    case 'int': {
      if (raw === undefined) return node.default ?? 0;
      if (typeof raw !== 'number' || !Number.isInteger(raw)) {
        errors.push(`${at}: expected a whole number, got ${describe(raw)}`);
        return node.default ?? 0;
      }
      if ((node.min !== undefined && raw < node.min) || (node.max !== undefined && raw > node.max)) {
        errors.push(`${at}: ${raw} is out of range ${node.min ?? '-∞'}–${node.max ?? '∞'}`);
      }
      return raw;
    }
    case 'bool': {
      if (raw === undefined) return node.default ?? false;
      if (typeof raw !== 'boolean') {
        errors.push(`${at}: expected true or false, got ${describe(raw)}`);
        return node.default ?? false;
      }
      return raw;
    }
    case 'stringList': {
      if (raw === undefined) return [...(node.default ?? [])];
      if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
        errors.push(`${at}: expected a list of strings, got ${describe(raw)}`);
        return [...(node.default ?? [])];
      }
      return [...(raw as string[])];
    }
    case 'stringMap': {
      if (raw === undefined) return {};
      if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        errors.push(`${at}: expected a table of strings, got ${describe(raw)}`);
        return {};
      }
      return { ...raw };
    }
    case 'list': {
      if (raw === undefined) return [];
      if (!Array.isArray(raw)) {
        errors.push(`${at}: expected a list, got ${describe(raw)}`);
        return [];
      }
      return raw.map((item, i) => applySchema(node.item, item, `${path}[${i}]`, errors));
    }
    case 'portRanges':
      return parsePortRanges(raw, at, errors);
    case 'object': {
      const value = raw === undefined ? {} : raw;
      if (!isPlainObject(value)) {
        errors.push(`${at}: expected a table, got ${describe(raw)}`);
        return applySchema(node, {}, path, []);
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (!(key in node.fields)) {
          const hint = closestKey(key, Object.keys(node.fields));
          errors.push(`${join(path, key)}: unknown key${hint ? `, did you mean ${hint}?` : ''}`);
        }
      }
      for (const req of node.required ?? []) {
        if (value[req] === undefined) errors.push(`${join(path, req)}: required`);
      }
      for (const [key, child] of Object.entries(node.fields)) {
        out[key] = applySchema(child, value[key], join(path, key), errors);
      }
      return out;
    }
  }
}

/** `allowPorts` as frp writes it: `[{ start, end }, { single }]`, or the INI string `2000-3000,3001`. */
function parsePortRanges(raw: unknown, at: string, errors: string[]): PortRange[] {
  if (raw === undefined) return [];
  const ranges: PortRange[] = [];
  const add = (start: number, end: number): void => {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end > 65535 || start > end) {
      errors.push(`${at}: invalid port range ${start}-${end} (ports are 1–65535)`);
      return;
    }
    ranges.push({ start, end });
  };
  if (typeof raw === 'string') {
    for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [a, b] = part.split('-').map((s) => Number(s.trim()));
      add(a ?? NaN, b ?? a ?? NaN);
    }
    return ranges;
  }
  if (!Array.isArray(raw)) {
    errors.push(`${at}: expected a list of {start, end} or {single}, got ${describe(raw)}`);
    return ranges;
  }
  raw.forEach((item: unknown, i) => {
    if (isPlainObject(item) && typeof item.single === 'number') add(item.single, item.single);
    else if (isPlainObject(item) && typeof item.start === 'number' && typeof item.end === 'number') add(item.start, item.end);
    else errors.push(`${at}[${i}]: expected {start, end} or {single}`);
  });
  return ranges;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
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
