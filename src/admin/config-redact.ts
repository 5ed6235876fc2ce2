/**
 * Hides the secrets of a client config file (tokens, secret keys, passwords,
 * group keys, Authorization headers) while keeping everything else as
 * written, for an admin API that anyone on the machine can read because it
 * has no password. The text is rewritten by pattern so its layout survives;
 * `secretsLeft` then parses the result, and a file where any secret still
 * shows is not served at all (fail closed).
 */
import { parseIni } from '../config/ini.js';
import { detectFormat, parseStructured } from '../config/sources.js';

export const REDACTED = '<redacted>';

/**
 * A key's last segment, lower case without `_` and `-`, names a secret when it
 * ends like one: `token`, `auth.token`, `admin_pwd`, `http_password`,
 * `secretKey`, `oidc.clientSecret`, `groupKey`, a header such as
 * `header_Authorization` or `requestHeaders.set.Cookie`, or is frp's short `sk`.
 */
export function isSecretKey(key: string): boolean {
  const last = key
    .slice(key.lastIndexOf('.') + 1)
    .toLowerCase()
    .replace(/[_-]/g, '')
    .replace(/^["']|["']$/g, '');
  return last === 'sk' || /(token|password|passwd|pwd|secret|secretkey|groupkey|authorization|cookie)$/.test(last);
}

/** INI and YAML values run to the end of the line; TOML and JSON values are one token or one quoted string. */
function lineValued(file: string): boolean {
  return /\.(ini|conf|cfg|ya?ml)$/i.test(file) || !/\.(toml|json)$/i.test(file);
}

/** TOML's multi-line strings first, so `"""…"""` is not read as an empty string and a rest. */
const QUOTED = String.raw`"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'`;

/**
 * `file`'s text with every secret value replaced by `"<redacted>"`. Keys are
 * matched wherever they stand: `token = x` (INI, TOML, also inside inline
 * tables), `token: x` (YAML), `"token": "x"` (JSON).
 */
export function redactConfigText(text: string, file: string): string {
  // A value opening a table or list is not one value: the keys inside are matched on their own.
  const value = lineValued(file) ? `${QUOTED}|[^\\s{[][^\\n]*` : `${QUOTED}|[^\\s{[,}\\]#\\n"'][^\\s,}\\]#\\n]*`;
  const pattern = new RegExp(String.raw`(^|[\s{,])(["']?)([A-Za-z0-9_.-]+)\2([ \t]*[=:][ \t]*)(${value})`, 'gm');
  return text.replace(pattern, (whole, lead: string, quote: string, key: string, sep: string, val: string) => {
    if (!isSecretKey(key) || val.trim() === '') return whole;
    // Keep a trailing JSON comma or line ending where the value ran to the end of the line.
    const tail = /,\s*$/.exec(val)?.[0] ?? '';
    return `${lead}${quote}${key}${quote}${sep}"${REDACTED}"${tail}`;
  });
}

/**
 * Whether a secret still shows in `text` (a redacted file): any secret-named
 * key whose value is neither empty nor the marker, or a file that does not
 * parse at all (nothing can be vouched for then).
 */
export function secretsLeft(text: string, file: string): boolean {
  const format = detectFormat(file, text);
  if (format === 'ini') {
    const ini = parseIni(text);
    if (ini.problems.length > 0) return true;
    return ini.sections.some((section) => [...section.entries.values()].some((e) => isSecretKey(e.key) && !hidden(e.value)));
  }
  const parsed = parseStructured(text, format);
  return parsed.problem !== undefined || showsSecret(parsed.value, 0);
}

function hidden(value: unknown): boolean {
  // INI keeps the quotes the marker was written with.
  return value === '' || value === REDACTED || value === `"${REDACTED}"` || value === undefined || value === null;
}

function showsSecret(value: unknown, depth: number): boolean {
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((v) => showsSecret(v, depth + 1));
  return Object.entries(value).some(([key, v]) => (isSecretKey(key) && typeof v !== 'object' ? !hidden(v) : showsSecret(v, depth + 1)));
}
