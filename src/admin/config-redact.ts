/**
 * Hides the secrets of a client config file (tokens, secret keys, passwords)
 * while keeping everything else as written, for an admin API that anyone on
 * the machine can read because it has no password.
 */

export const REDACTED = '<redacted>';

/**
 * A key's last segment, lower case without `_` and `-`, names a secret when it
 * ends like one: `token`, `auth.token`, `admin_pwd`, `http_password`,
 * `secretKey`, `oidc.clientSecret`, or is frp's short `sk`.
 */
function isSecretKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('.') + 1).toLowerCase().replace(/[_-]/g, '');
  return last === 'sk' || /(token|password|passwd|pwd|secret|secretkey)$/.test(last);
}

/** INI and YAML values run to the end of the line; TOML and JSON values are one token or one quoted string. */
function lineValued(file: string): boolean {
  return /\.(ini|conf|cfg|ya?ml)$/i.test(file) || !/\.(toml|json)$/i.test(file);
}

const QUOTED = String.raw`"(?:[^"\\\n]|\\.)*"|'[^'\n]*'`;

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
