/**
 * frp renders every config file as a Go text template before parsing it. burrow
 * understands the part people use:
 *
 *   {{ .Envs.NAME }}                 the environment variable NAME
 *   {{ index .Envs "NAME" }}         the same, for names that are not identifiers
 *   {{ or .Envs.NAME "fallback" }}   the first non-empty argument (Go's `or`)
 *   {{- … -}}  {{/* comment *\/}}    whitespace trimming and comments, as Go
 *
 * A variable that is not set renders as the literal `<no value>`, exactly as
 * frp does, and produces a warning naming the variable and line. The
 * warning-free path is to give a default: `{{ or .Envs.NAME "default" }}`
 * (this is plain Go template syntax, so the same file still works with frp).
 * Anything else inside `{{ }}` (range, parseNumberRange, …) is an error with
 * its line, rather than being passed through as text.
 */
export interface TemplateResult {
  text: string;
  warnings: string[];
  problems: string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

const NO_VALUE = '<no value>';

type Arg = { env: string } | { literal: string };

export function renderTemplate(input: string, env: Env): TemplateResult {
  const warnings: string[] = [];
  const problems: string[] = [];
  if (!input.includes('{{')) return { text: input, warnings, problems };
  let out = '';
  let pos = 0;
  while (pos < input.length) {
    const open = input.indexOf('{{', pos);
    if (open === -1) {
      out += input.slice(pos);
      break;
    }
    const line = lineOf(input, open);
    const close = input.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push(`line ${line}: template action "{{" is never closed with "}}"`);
      out += input.slice(pos);
      break;
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
    out += text;
    out += evaluate(body.trim(), env, line, warnings, problems);
    pos = next;
  }
  return { text: out, warnings, problems };
}

function evaluate(action: string, env: Env, line: number, warnings: string[], problems: string[]): string {
  if (action.startsWith('/*') && action.endsWith('*/')) return '';
  const words = splitWords(action);
  const args = words?.map(parseArg);

  const unsupported = (): string => {
    problems.push(
      `line ${line}: unsupported template action "{{ ${action} }}"; burrow understands ` +
        '{{ .Envs.NAME }}, {{ index .Envs "NAME" }} and {{ or .Envs.NAME "default" }}',
    );
    return '';
  };
  if (!words || !args) return unsupported();
  const lookup = (a: Arg, warnIfMissing: boolean): string | undefined => {
    if ('literal' in a) return a.literal;
    const v = env[a.env];
    if (v === undefined && warnIfMissing) {
      warnings.push(
        `line ${line}: environment variable ${a.env} is not set; it renders as "${NO_VALUE}" (as frp does). ` +
          `Give a default with {{ or .Envs.${a.env} "value" }}`,
      );
    }
    return v;
  };
  if (words.length === 1 && args[0]) return lookup(args[0], true) ?? NO_VALUE;
  if (words[0] === 'or' && args.length > 1) {
    const rest = args.slice(1);
    if (rest.some((a) => a === undefined)) return unsupported();
    let value: string | undefined;
    for (const a of rest as Arg[]) {
      value = lookup(a, false);
      if (value) return value;
    }
    // Go's `or` yields its last argument; a missing variable prints as <no value>.
    if (value === undefined) lookup(rest[rest.length - 1]!, true);
    return value ?? NO_VALUE;
  }
  const name = args[2];
  if (words[0] === 'index' && words[1] === '.Envs' && words.length === 3 && name && 'literal' in name) {
    return lookup({ env: name.literal }, true) ?? NO_VALUE;
  }
  return unsupported();
}

function parseArg(word: string): Arg | undefined {
  const env = /^\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
  if (env) return { env: env[1]! };
  if (word.startsWith('`') && word.endsWith('`') && word.length >= 2) return { literal: word.slice(1, -1) };
  if (word.startsWith('"') && word.endsWith('"') && word.length >= 2) {
    try {
      const v: unknown = JSON.parse(word);
      return typeof v === 'string' ? { literal: v } : undefined;
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
