/**
 * The legacy frp INI format, read the way frp's INI library reads it with
 * frp's options (FRP-PROTOCOL.md §9.6). General INI packages differ on exactly
 * the points that matter for real files, so this is our own small reader:
 *
 * - `#` and `;` start a comment only as the first non-blank character of a
 *   line. There are no inline comments: `a = 1 # x` is the value `1 # x`, and a
 *   token `abc#1` stays whole.
 * - The key ends at the first `=` or `:`; key and value are trimmed. A line
 *   without either is a "boolean key" whose value is `true`.
 * - A value wrapped entirely in one pair of `"…"` or `'…'` (the quote appears
 *   nowhere else in it) loses that pair; otherwise quotes are kept as written.
 * - A value starting with a backtick or with `"""` is raw: it runs to the LAST
 *   matching backtick/`"""` on that line, or — when the line has none — over the
 *   following lines (newlines kept) up to the last one on the first line that
 *   has it. Nothing inside is trimmed or unquoted.
 * - A value ending in `\` continues on the next line (that line trimmed); a
 *   blank line ends it. Continued values are not unquoted.
 * - Section and key names are case-sensitive and used as written between `[`
 *   and the last `]`. A section that appears twice is one section; a key given
 *   twice keeps its last value (both produce a warning).
 * - Keys before the first section belong to a `DEFAULT` section frp ignores.
 */
export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  /** in file order; a repeated key keeps its first position and its last value */
  entries: Map<string, IniEntry>;
}

export interface IniFile {
  sections: IniSection[];
  warnings: string[];
  problems: string[];
}

export const INI_DEFAULT_SECTION = 'DEFAULT';

export function parseIni(text: string): IniFile {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const sections = new Map<string, IniSection>();
  const warnings: string[] = [];
  const problems: string[] = [];
  const sectionNamed = (name: string, line: number): IniSection => {
    let s = sections.get(name);
    if (s) {
      if (name !== INI_DEFAULT_SECTION) warnings.push(`line ${line}: [${name}] appears again (first at line ${s.line}); its keys are merged, as frp does`);
    } else {
      s = { name, line, entries: new Map() };
      sections.set(name, s);
    }
    return s;
  };
  let current = sectionNamed(INI_DEFAULT_SECTION, 0);
  let i = 0;
  const nextLine = (): string | undefined => (i < lines.length ? lines[i++] : undefined);
  for (let raw = nextLine(); raw !== undefined; raw = nextLine()) {
    const lineNo = i;
    const line = raw.trimStart();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    if (line[0] === '[') {
      const close = line.lastIndexOf(']');
      if (close === -1) {
        problems.push(`line ${lineNo}: section header "${line.trim()}" has no closing "]"`);
        continue;
      }
      current = sectionNamed(line.slice(1, close), lineNo);
      continue;
    }
    const name = readKeyName(line);
    if (name === 'missing-quote') {
      problems.push(`line ${lineNo}: the key's closing quote is missing: ${line.trim()}`);
      continue;
    }
    let key: string;
    let value: string;
    if (name === undefined) {
      const whole = readValue(line, nextLine, lineNo, problems);
      key = whole;
      value = 'true';
    } else if (name.key === '') {
      problems.push(`line ${lineNo}: a key name is missing before "${line[name.offset - 1]}"`);
      continue;
    } else {
      key = name.key;
      value = readValue(line.slice(name.offset), nextLine, lineNo, problems);
    }
    const prev = current.entries.get(key);
    if (prev) {
      warnings.push(`line ${lineNo}: [${current.name}] ${key} is set again (first at line ${prev.line}); the last value wins, as frp`);
      prev.value = value;
      prev.line = lineNo;
    } else {
      current.entries.set(key, { key, value, line: lineNo });
    }
  }
  return { sections: [...sections.values()], warnings, problems };
}

/** The key name and where its value starts, or undefined when the line has no `=`/`:`. */
function readKeyName(line: string): { key: string; offset: number } | undefined | 'missing-quote' {
  let quote = '';
  if (line.startsWith('"""') && line.length > 6) quote = '"""';
  else if (line[0] === '"' || line[0] === '`') quote = line[0];
  if (quote) {
    const end = line.indexOf(quote, quote.length);
    if (end === -1) return 'missing-quote';
    const delim = indexOfAny(line, '=:', end + quote.length);
    if (delim === -1) return undefined;
    return { key: line.slice(quote.length, end).trim(), offset: delim + 1 };
  }
  const delim = indexOfAny(line, '=:', 0);
  if (delim === -1) return undefined;
  return { key: line.slice(0, delim).trim(), offset: delim + 1 };
}

function readValue(rest: string, nextLine: () => string | undefined, lineNo: number, problems: string[]): string {
  const line = rest.trimStart();
  if (line === '') return '';
  const quote = line.startsWith('"""') ? '"""' : line[0] === '`' ? '`' : '';
  if (quote) {
    const body = line.slice(quote.length);
    const end = body.lastIndexOf(quote);
    if (end !== -1) return body.slice(0, end);
    let value = `${body}\n`;
    for (let next = nextLine(); next !== undefined; next = nextLine()) {
      const close = next.lastIndexOf(quote);
      if (close !== -1) return value + next.slice(0, close);
      value += `${next}\n`;
    }
    problems.push(`line ${lineNo}: the value opened with ${quote} is never closed`);
    return value;
  }
  let value = line.trim();
  if (value.endsWith('\\')) {
    value = value.slice(0, -1);
    for (let next = nextLine(); next !== undefined; next = nextLine()) {
      const part = next.trim();
      if (part === '') break;
      value += part;
      if (!value.endsWith('\\')) break;
      value = value.slice(0, -1);
    }
    return value;
  }
  if (wrappedIn(value, '"') || wrappedIn(value, "'")) return value.slice(1, -1);
  return value;
}

function wrappedIn(v: string, q: string): boolean {
  return v.length >= 2 && v[0] === q && v[v.length - 1] === q && v.indexOf(q, 1) === v.length - 1;
}

function indexOfAny(s: string, chars: string, from: number): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return -1;
}

/** go-ini's boolean spellings (FRP-PROTOCOL.md §9.6). */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True', 'YES', 'yes', 'Yes', 'y', 'ON', 'on', 'On']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False', 'NO', 'no', 'No', 'n', 'OFF', 'off', 'Off']);

export function parseIniBool(v: string): boolean | undefined {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return undefined;
}

/**
 * A whole number as Go's ParseInt with base 0 reads it (what frp's INI library
 * uses): decimal, `0x…`, `0o…`, `0b…`, a leading `0` meaning octal, and `_`
 * between digits. Returns `octal: true` for the leading-zero form so callers can
 * warn that `010` is 8.
 */
export function parseIniInt(v: string): { value: number; octal: boolean } | undefined {
  const sign = v[0] === '-' || v[0] === '+' ? v[0] : '';
  const body = v.slice(sign.length);
  let base = 10;
  let digits = body;
  if (/^0[xX]/.test(body)) [base, digits] = [16, body.slice(2)];
  else if (/^0[oO]/.test(body)) [base, digits] = [8, body.slice(2)];
  else if (/^0[bB]/.test(body)) [base, digits] = [2, body.slice(2)];
  else if (body.length > 1 && body[0] === '0') [base, digits] = [8, body.slice(1)];
  const alphabet = { 2: '01', 8: '0-7', 10: '0-9', 16: '0-9a-fA-F' }[base as 2 | 8 | 10 | 16];
  // Go allows `_` between digits, and after a base prefix; never doubled or last.
  const leading = base === 10 ? '' : '_?';
  if (!new RegExp(`^${leading}[${alphabet}]+(_[${alphabet}]+)*$`).test(digits)) return undefined;
  const n = parseInt(digits.replace(/_/g, ''), base);
  if (!Number.isSafeInteger(n)) return undefined;
  return { value: sign === '-' ? -n : n, octal: base === 8 && !/^0[oO]/.test(body) };
}

/**
 * A comma list as frp's INI library splits it: items trimmed, `\,` is a literal
 * comma, a trailing empty item is dropped, an empty value is an empty list.
 */
export function splitIniList(v: string): string[] {
  const items: string[] = [];
  let buf = '';
  let pending = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\' && (v[i + 1] === ',' || v[i + 1] === '\\')) {
      buf += v[++i];
      pending = true;
    } else if (c === ',') {
      items.push(buf.trim());
      buf = '';
      pending = false;
    } else {
      buf += c;
      pending = true;
    }
  }
  if (pending && buf.length > 0) items.push(buf.trim());
  return items;
}

/** `6000-6010,6020` → [6000, …, 6010, 6020]; at most `limit` numbers. */
export function parseNumberRanges(v: string, limit: number): number[] | string {
  const out: number[] = [];
  for (const part of v.trim().split(',')) {
    const ends = part.split('-').map((s) => s.trim());
    if (ends.length > 2 || ends.some((s) => !/^\d+$/.test(s))) return `"${part.trim()}" is not a number or a range like 6000-6010`;
    const lo = Number(ends[0]);
    const hi = Number(ends[ends.length - 1]);
    if (hi < lo) return `"${part.trim()}" ends before it starts`;
    if (out.length + (hi - lo + 1) > limit) return `more than ${limit} numbers`;
    for (let n = lo; n <= hi; n++) out.push(n);
  }
  return out;
}
