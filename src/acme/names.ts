/**
 * Which names may get a certificate (`acme.domains`). Anyone who can register
 * an http proxy chooses its domains, so this list is what stops a client from
 * making the server order certificates for arbitrary names (and spend the
 * CA's rate limits on them).
 */

/** A DNS name as the vhost routes it: lower-case labels of letters, digits and hyphens. */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A matcher for `patterns`: an exact name, or `*.rest` matching one label in
 * front of `rest` (as a wildcard certificate would: `*.example.com` covers
 * `a.example.com`, not `a.b.example.com` nor `example.com`).
 */
export function acmeNameMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const p of patterns) {
    const lower = p.toLowerCase();
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1));
    else exact.add(lower);
  }
  return (name) => {
    const n = name.toLowerCase();
    if (!HOST_NAME.test(n)) return false;
    if (exact.has(n)) return true;
    return suffixes.some((s) => n.endsWith(s) && !n.slice(0, n.length - s.length).includes('.'));
  };
}
