import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/** At most this many files are read through one configuration's `includes`. */
export const MAX_INCLUDED_FILES = 1000;

/**
 * The files a frp `includes` pattern names. As frp, only the last path segment
 * may hold wildcards (`*` = any run of characters, `?` = one character, no `/`);
 * the directory part is literal. A relative pattern is taken from `baseDir` (the
 * directory of the configuration file). Matches are regular files, sorted by
 * name. Node 20 has no `fs.globSync`, hence this small matcher.
 */
export function globFiles(pattern: string, baseDir: string): { files: string[]; problem?: string } {
  const full = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  const dir = dirname(full);
  const last = basename(full);
  if (/[*?]/.test(dirname(pattern))) {
    return { files: [], problem: `wildcards are only allowed in the file name: "${pattern}"` };
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { files: [], problem: `cannot list the directory of "${pattern}"${code ? ` (${code})` : ''}` };
  }
  const re = new RegExp(`^${[...last].map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escapeRe(c))).join('')}$`);
  const files = names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
  if (files.length > MAX_INCLUDED_FILES) return { files: [], problem: `"${pattern}" matches more than ${MAX_INCLUDED_FILES} files` };
  return { files };
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}
