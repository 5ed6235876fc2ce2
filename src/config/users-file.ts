import { closeSync, constants as fsConstants, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { describeError } from '../util/errors.js';
import { isPlainObject } from './schema-engine.js';
import { usersFileSchema } from './server-schema.js';
import { MAX_CONFIG_BYTES } from './sources.js';
import { parseTomlText, toToml } from './toml.js';

/** Users one file may list; the server's table is bounded the same way as its usage counters. */
export const MAX_FILE_USERS = 100_000;

/** Written at the top of a users file the dashboard creates. */
export const DEFAULT_USERS_HEADER = [
  '# burrow accounts, written by the server dashboard (Users).',
  '# Same shape as [[users]] in the server config. The dashboard rewrites this file whole:',
  '# this header is kept, other comments are not. SIGHUP re-reads it.',
].join('\n');

/** What a users file holds: its `[[users]]` entries as written (not validated yet) and its leading comment block. */
export interface UsersFileContent {
  users: unknown[];
  /** the comment lines at the top of the file ('' = none): kept when the dashboard rewrites it */
  header: string;
  /** false when the file does not exist yet (it is created at the first write) */
  exists: boolean;
}

/**
 * Reads `usersFile` (TOML, `[[users]]` only). A missing file is an empty one,
 * so the dashboard can create it; anything else wrong is one readable line.
 */
export function readUsersFile(file: string): UsersFileContent | { problem: string } {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) return { problem: `the file is ${size} bytes; a users file is at most ${MAX_CONFIG_BYTES}` };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { users: [], header: '', exists: false };
    return { problem: `cannot read the file: ${describeError(err)}` };
  }
  const parsed = parseTomlText(text);
  if (parsed.problem !== undefined) return { problem: parsed.problem };
  const value = parsed.value;
  if (!isPlainObject(value)) return { problem: 'not a TOML table' };
  const other = Object.keys(value).find((k) => k.toLowerCase() !== 'users');
  if (other !== undefined) return { problem: `${other}: a users file holds only [[users]] tables (other keys belong in the server config)` };
  const key = Object.keys(value)[0];
  const users = key === undefined ? [] : value[key];
  if (!Array.isArray(users)) return { problem: 'users: must be a list of tables ([[users]])' };
  if (users.length > MAX_FILE_USERS) return { problem: `users: more than ${MAX_FILE_USERS} entries` };
  return { users, header: leadingComments(text), exists: true };
}

/** The comment lines (and blank lines between them) at the very top of `text`. */
function leadingComments(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('#')) out.push(line.trimEnd());
    else if (t === '' && out.length > 0) out.push('');
    else break;
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}

/** The file's text for validated entries: the header, then one `[[users]]` table each, keys at their default left out. */
export function usersFileText(users: readonly unknown[], header: string): string {
  const body = toToml(usersFileSchema, { users });
  return `${header || DEFAULT_USERS_HEADER}\n\n${body}`;
}

/**
 * Replaces the file whole: a new file next to it (created exclusively, mode
 * 0600: it holds tokens), fsynced, renamed over the old one, so a crash
 * leaves the old users or the new ones, never half a file. A link in the
 * file's place is replaced, not followed.
 */
export function writeUsersFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0), 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The raw config with the users file's entries after its own `users`, and the paths of problems told by file. */
export interface MergedUsers {
  raw: unknown;
  /** `users[5].maxProxies` → `users.toml: users[2].maxProxies` for an entry from the users file */
  translate: (path: string) => string | undefined;
  problems: string[];
  /** how many of the users are the config's own (the rest came from the file) */
  own: number;
}

/**
 * Appends the `[[users]]` of the file `usersFile` names (relative to
 * `baseDir`) to the config's own, so one validation checks them all (a name
 * in both is a duplicate, named by file). `override` stands for the file's
 * entries: what the dashboard is about to write, checked before it is.
 */
export function mergeUsersFile(raw: unknown, baseDir: string, override?: readonly unknown[]): MergedUsers {
  const none: MergedUsers = { raw, translate: () => undefined, problems: [], own: Number.POSITIVE_INFINITY };
  if (!isPlainObject(raw)) return none;
  const fileKey = Object.keys(raw).find((k) => k.toLowerCase() === 'usersfile');
  const name = fileKey === undefined ? undefined : raw[fileKey];
  if (typeof name !== 'string' || name === '') return none;
  const read = override ? { users: [...override] } : readUsersFile(resolvePath(baseDir, name));
  if ('problem' in read) return { ...none, problems: [`usersFile "${name}": ${read.problem}`] };
  if (read.users.length === 0) return none;
  const usersKey = Object.keys(raw).find((k) => k.toLowerCase() === 'users') ?? 'users';
  // Not a list: the config's own mistake, which validation names.
  if (raw[usersKey] !== undefined && !Array.isArray(raw[usersKey])) return none;
  const own = Array.isArray(raw[usersKey]) ? (raw[usersKey] as unknown[]) : [];
  const translate = (path: string): string | undefined => {
    const m = /^users\[(\d+)\](.*)$/.exec(path);
    if (!m || Number(m[1]) < own.length) return undefined;
    return `${name}: users[${Number(m[1]) - own.length}]${m[2]}`;
  };
  return { raw: { ...raw, [usersKey]: [...own, ...read.users] }, translate, problems: [], own: own.length };
}

function resolvePath(baseDir: string, file: string): string {
  return isAbsolute(file) ? file : join(baseDir, file);
}
