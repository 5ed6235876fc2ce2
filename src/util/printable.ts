/** Longest peer-supplied string put in a log line; the rest is cut with a marker. */
const MAX_LOGGED = 256;

/**
 * A peer-supplied string made safe for one log line: control characters
 * (C0, DEL, C1, and the Unicode line and paragraph separators) become \xNN or
 * \uNNNN escapes, so a user name or hostname cannot forge or split lines.
 */
export function printable(value: string | undefined, max = MAX_LOGGED): string {
  if (value === undefined) return '';
  const cut = value.length > max ? value.slice(0, max) : value;
  // eslint-disable-next-line no-control-regex
  const escaped = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return value.length > max ? `${escaped}…(${value.length - max} more)` : escaped;
}

/** Enough of a run id to tell clients apart in logs and the dashboard, not enough to act as one. */
export function shortRunId(runId: string): string {
  return runId.length <= 8 ? printable(runId) : `${printable(runId.slice(0, 8))}…`;
}
