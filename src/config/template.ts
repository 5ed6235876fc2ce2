/**
 * frp renders every config file as a Go text template before parsing it. burrow
 * understands the part people use:
 *
 *   {{ .Envs.NAME }}                 the environment variable NAME
 *   {{ index .Envs "NAME" }}         the same, for names that are not identifiers
 *   {{ or .Envs.NAME "fallback" }}   the first non-empty argument (Go's `or`)
 *   {{- range $i, $v := parseNumberRangePair "6000-6006,6007" "7000-7006,7007" }}
 *     … {{ $v.First }} … {{ $v.Second }} … {{ $i }} …
 *   {{- end }}                       one copy of the body per pair (frp's functions;
 *                                    parseNumberRange "1-3" gives the numbers alone)
 *   {{- … -}}  {{/* comment *\/}}    whitespace trimming and comments, as Go
 *
 * A variable that is not set renders as the literal `<no value>`, exactly as
 * frp does, and produces a warning naming the variable and line. The
 * warning-free path is to give a default: `{{ or .Envs.NAME "default" }}`
 * (this is plain Go template syntax, so the same file still works with frp).
 * Anything else inside `{{ }}` (if, with, …) is an error with its line,
 * rather than being passed through as text.
 *
 * Bounds: a range list holds at most MAX_RANGE_NUMBERS numbers, ranges nest at
 * most MAX_DEPTH deep, and the output stops with an error past MAX_OUTPUT.
 */
export interface TemplateResult {
  text: string;
  warnings: string[];
  problems: string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

const NO_VALUE = '<no value>';
const MAX_RANGE_NUMBERS = 65_536;
const MAX_DEPTH = 8;
/** as the config file itself (sources.ts MAX_CONFIG_BYTES) */
const MAX_OUTPUT = 4 * 1024 * 1024;

type Node = { text: string } | { action: string; line: number } | RangeNode;
interface RangeNode {
  range: { index?: string; value: string; call: string[] };
  line: number;
  body: Node[];
}
type Value = string | number | { First: number; Second: number };

interface Ctx {
  env: Env;
  vars: Map<string, Value>;
  warnings: string[];
  problems: string[];
  /** shared by every nested range: characters written so far */
  written: { size: number };
}

export function renderTemplate(input: string, env: Env): TemplateResult {
  const warnings: string[] = [];
  const problems: string[] = [];
  if (!input.includes('{{')) return { text: input, warnings, problems };
  const nodes = parse(input, problems);
  if (problems.length > 0) return { text: input, warnings, problems };
  const ctx: Ctx = { env, vars: new Map(), warnings, problems, written: { size: 0 } };
  const text = run(nodes, ctx);
  // A range body repeats its mistakes: each is said once.
  return { text, warnings: [...new Set(warnings)], problems: [...new Set(problems)] };
}

/** Splits the text into literal text and actions (trim markers applied), and nests range … end. */
function parse(input: string, problems: string[]): Node[] {
  const root: Node[] = [];
  const stack: RangeNode[] = [];
  const into = (): Node[] => stack.at(-1)?.body ?? root;
  let pos = 0;
  while (pos < input.length) {
    const open = input.indexOf('{{', pos);
    if (open === -1) {
      into().push({ text: input.slice(pos) });
      break;
    }
    const line = lineOf(input, open);
    const close = input.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push(`line ${line}: template action "{{" is never closed with "}}"`);
      return root;
    }
    let text = input.slice(pos, open);
    let body = input.slice(open + 2, close);
    let next = close + 2;
    if (/^-[ \t\r\n]/.test(body)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      body = body.slice(1);
    }
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      while (next < input.length && ' \t\r\n'.includes(input[next]!)) next++;
    }
    pos = next;
    into().push({ text });
    const action = body.trim();
    if (action.startsWith('/*') && action.endsWith('*/')) continue;
    const words = splitWords(action);
    if (words?.[0] === 'range') {
      const range = parseRange(words.slice(1));
      if (!range)
        problems.push(
          `line ${line}: cannot read "{{ ${action} }}"; burrow understands {{ range $i, $v := parseNumberRangePair "A" "B" }} and {{ range $v := parseNumberRange "A" }}`,
        );
      else if (stack.length >= MAX_DEPTH) problems.push(`line ${line}: ranges nest more than ${MAX_DEPTH} deep`);
      else {
        const node: RangeNode = { range, line, body: [] };
        into().push(node);
        stack.push(node);
      }
    } else if (action === 'end') {
      if (!stack.pop()) problems.push(`line ${line}: "{{ end }}" without a range`);
    } else {
      into().push({ action, line });
    }
  }
  for (const r of stack) problems.push(`line ${r.line}: this range has no "{{ end }}"`);
  return root;
}

/** `$i, $v := fn args…` or `$v := fn args…` */
function parseRange(words: string[]): RangeNode['range'] | undefined {
  const assign = words.indexOf(':=');
  const names = words
    .slice(0, assign)
    .join(' ')
    .split(',')
    .map((n) => n.trim());
  const call = words.slice(assign + 1);
  if (assign < 1 || names.length > 2 || names.some((n) => !/^\$[A-Za-z0-9_]*$/.test(n)) || call.length === 0) return undefined;
  return names.length === 2 ? { index: names[0]!, value: names[1]!, call } : { value: names[0]!, call };
}

function run(nodes: Node[], ctx: Ctx): string {
  let out = '';
  for (const node of nodes) {
    if (ctx.written.size > MAX_OUTPUT) break;
    if ('text' in node || 'action' in node) {
      const piece = 'text' in node ? node.text : evaluate(node.action, node.line, ctx);
      ctx.written.size += piece.length;
      out += piece;
      continue;
    }
    for (const [i, item] of rangeList(node, ctx).entries()) {
      if (ctx.written.size > MAX_OUTPUT) break;
      const vars = new Map(ctx.vars);
      if (node.range.index) vars.set(node.range.index, i);
      vars.set(node.range.value, item);
      out += run(node.body, { ...ctx, vars });
    }
  }
  if (ctx.written.size > MAX_OUTPUT) ctx.problems.push(`the rendered template is larger than ${MAX_OUTPUT / 1024 / 1024} MiB`);
  return out;
}

/** The list a range walks: frp's parseNumberRange / parseNumberRangePair over its string arguments. */
function rangeList(node: RangeNode, ctx: Ctx): Value[] {
  const [fn, ...rawArgs] = node.range.call;
  const fail = (why: string): Value[] => {
    ctx.problems.push(`line ${node.line}: ${why}`);
    return [];
  };
  const args: string[] = [];
  for (const w of rawArgs) {
    const v = argValue(w, node.line, ctx);
    if (typeof v !== 'string') return fail(`${fn} takes strings like "6000-6006,6007", got ${w}`);
    args.push(v);
  }
  if (fn === 'parseNumberRange' && args.length === 1) {
    const nums = numberRange(args[0]!);
    return typeof nums === 'string' ? fail(`parseNumberRange "${args[0]}": ${nums}`) : nums;
  }
  if (fn === 'parseNumberRangePair' && args.length === 2) {
    const [a, b] = [numberRange(args[0]!), numberRange(args[1]!)];
    if (typeof a === 'string') return fail(`parseNumberRangePair "${args[0]}": ${a}`);
    if (typeof b === 'string') return fail(`parseNumberRangePair "${args[1]}": ${b}`);
    // frp's words, for the same mistake
    if (a.length !== b.length) return fail(`parseNumberRangePair: first and second range numbers are not in pairs (${a.length} and ${b.length})`);
    return a.map((First, i) => ({ First, Second: b[i]! }));
  }
  return fail(`range needs parseNumberRange "A" or parseNumberRangePair "A" "B", got "${node.range.call.join(' ')}"`);
}

/** frp's ParseRangeNumbers: `1000-2000,2001,3000-4000`, each part trimmed; bounded in count. */
function numberRange(spec: string): number[] | string {
  const out: number[] = [];
  for (const part of spec.trim().split(',')) {
    const ends = part.split('-').map((s) => s.trim());
    if (ends.length > 2 || ends.some((e) => !/^[+-]?\d{1,15}$/.test(e))) return `range number is invalid: "${part}"`;
    const [lo, hi] = [Number(ends[0]), Number(ends[ends.length - 1])];
    if (hi < lo) return `range number is invalid: "${part}" ends before it starts`;
    if (out.length + (hi - lo + 1) > MAX_RANGE_NUMBERS) return `more than ${MAX_RANGE_NUMBERS} numbers`;
    for (let n = lo; n <= hi; n++) out.push(n);
  }
  return out;
}

function evaluate(action: string, line: number, ctx: Ctx): string {
  const words = splitWords(action);
  const unsupported = (): string => {
    ctx.problems.push(
      `line ${line}: unsupported template action "{{ ${action} }}"; burrow understands ` +
        '{{ .Envs.NAME }}, {{ index .Envs "NAME" }}, {{ or .Envs.NAME "default" }}, and range over parseNumberRange(Pair) with {{ $v.First }}',
    );
    return '';
  };
  if (!words || words.length === 0) return unsupported();
  if (words.length === 1) {
    if (!isArg(words[0]!)) return unsupported();
    const v = argValue(words[0]!, line, ctx, true);
    return v === undefined ? NO_VALUE : typeof v === 'object' ? `{${v.First} ${v.Second}}` : String(v);
  }
  if (words[0] === 'or') {
    const rest = words.slice(1);
    let value: Value | undefined;
    for (const w of rest) {
      if (!isArg(w)) return unsupported();
      value = argValue(w, line, ctx);
      if (value) return String(value);
    }
    // Go's `or` yields its last argument; a missing variable prints as <no value>.
    if (value === undefined) argValue(rest[rest.length - 1]!, line, ctx, true);
    return value === undefined ? NO_VALUE : String(value);
  }
  const name = words[2] !== undefined ? literal(words[2]) : undefined;
  if (words[0] === 'index' && words[1] === '.Envs' && words.length === 3 && name !== undefined) {
    return envValue(name, line, ctx, true) ?? NO_VALUE;
  }
  return unsupported();
}

function isArg(word: string): boolean {
  return literal(word) !== undefined || ENV_REF.test(word) || VAR_REF.test(word);
}

const ENV_REF = /^\$?\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/;
const VAR_REF = /^(\$[A-Za-z0-9_]*)(?:\.(First|Second))?$/;

/**
 * One argument's value: a literal, an environment variable (undefined when
 * unset, with a warning if asked), or a range variable. An unknown form is
 * undefined; an unknown variable or field is a problem.
 */
function argValue(word: string, line: number, ctx: Ctx, warnIfMissing = false): Value | undefined {
  const lit = literal(word);
  if (lit !== undefined) return lit;
  const env = ENV_REF.exec(word);
  if (env) return envValue(env[1]!, line, ctx, warnIfMissing);
  const ref = VAR_REF.exec(word);
  if (!ref) return undefined;
  const v = ctx.vars.get(ref[1]!);
  if (v === undefined) {
    ctx.problems.push(`line ${line}: undefined variable "${ref[1]}"`);
    return '';
  }
  if (!ref[2]) return v;
  if (typeof v !== 'object') {
    ctx.problems.push(`line ${line}: ${ref[1]} is a number; it has no field ${ref[2]}`);
    return '';
  }
  return ref[2] === 'First' ? v.First : v.Second;
}

function envValue(name: string, line: number, ctx: Ctx, warnIfMissing: boolean): string | undefined {
  const v = ctx.env[name];
  if (v === undefined && warnIfMissing) {
    ctx.warnings.push(
      `line ${line}: environment variable ${name} is not set; it renders as "${NO_VALUE}" (as frp does). ` +
        `Give a default with {{ or .Envs.${name} "value" }}`,
    );
  }
  return v;
}

function literal(word: string): string | undefined {
  if (word.startsWith('`') && word.endsWith('`') && word.length >= 2) return word.slice(1, -1);
  if (word.startsWith('"') && word.endsWith('"') && word.length >= 2) {
    try {
      const v: unknown = JSON.parse(word);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Splits on spaces outside quotes; undefined when a quote is left open. */
function splitWords(action: string): string[] | undefined {
  const words: string[] = [];
  let i = 0;
  while (i < action.length) {
    const c = action[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    let j = i;
    if (c === '"' || c === '`') {
      j++;
      while (j < action.length && action[j] !== c) j += c === '"' && action[j] === '\\' ? 2 : 1;
      if (j >= action.length) return undefined;
      j++;
    } else {
      while (j < action.length && !' \t\r\n'.includes(action[j]!)) j++;
    }
    words.push(action.slice(i, j));
    i = j;
  }
  return words;
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
