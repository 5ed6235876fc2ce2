/**
 * Request path → file under the served directory, or a refusal. Traversal
 * is refused outright (any `..` segment, NUL, backslash) rather than cleaned
 * away as Go's http.Dir does; symlinks leading outside the directory are
 * refused too.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

export type ResolvedPath = { kind: 'file'; file: string; urlPath: string } | { kind: 'not-found' } | { kind: 'bad-request'; why: string };

/** The path part after the served prefix, decoded and checked. */
export function relativeRequestPath(rawUrl: string, prefix: string): ResolvedPath | { kind: 'relative'; rel: string } {
  const pathname = rawUrl.split('?')[0] ?? '';
  if (!pathname.startsWith(prefix)) return { kind: 'not-found' };
  let rel: string;
  try {
    rel = decodeURIComponent(pathname.slice(prefix.length));
  } catch {
    return { kind: 'bad-request', why: 'malformed percent-encoding in the path' };
  }
  if (rel.includes('\0') || rel.includes('\\')) return { kind: 'bad-request', why: 'NUL or backslash in the path' };
  if (rel.split('/').some((seg) => seg === '..')) return { kind: 'bad-request', why: 'path traversal (..) refused' };
  return { kind: 'relative', rel };
}

/** The real file for `rel` under `root`; a link out of `root` is reported as not found. */
export async function resolveUnderRoot(root: string, rel: string, urlPath: string): Promise<ResolvedPath> {
  const joined = path.join(root, ...rel.split('/').filter((seg) => seg !== '' && seg !== '.'));
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(joined), realpath(root)]);
  } catch {
    return { kind: 'not-found' };
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return { kind: 'not-found' };
  return { kind: 'file', file: real, urlPath };
}
