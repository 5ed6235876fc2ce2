import { isIP } from 'node:net';

/**
 * Requests whose host or path could slip past a login: the router and the
 * `[[sso]]` globs must read the same host and the same path, or a request
 * meant for a guarded service reaches it by another name.
 */

/** Labels as `[[sso]]` domain globs can match them (src/config/account-terms.ts domainGlob). */
const PLAIN_HOST = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Whether a canonical host (lower-cased, port and one trailing dot gone) is
 * one the globs can judge: plain labels or an IP literal. An empty host
 * (HTTP/1.0 without Host), an empty label (`.team.example.com`,
 * `x..team.example.com`) or any other byte would miss every glob while the
 * router still takes it to a `*.` wildcard or the catch-all route.
 */
export function hostJudgeable(host: string): boolean {
  return PLAIN_HOST.test(host) || isIP(host) !== 0;
}

/** Whether a (percent-decoded) path has `.`/`..` segments or an empty segment (`//`). */
export function pathNeedsNormalising(path: string): boolean {
  return path.includes('//') || /(^|\/)\.\.?(\/|$)/.test(path);
}

/**
 * The path a backend that resolves dot segments would serve: RFC 3986
 * remove_dot_segments, with runs of `/` collapsed first.
 */
export function normalisePath(path: string): string {
  const out: string[] = [];
  const segments = path.replace(/\/{2,}/g, '/').split('/');
  for (let i = 0; i < segments.length; i += 1) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 1) out.pop();
      // A trailing dot segment still names a directory: keep the slash.
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}
