import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * What `burrow login` saves and the one-line commands (`burrow http|tcp|udp`)
 * use when no --server is given: the server, its token and how to reach it.
 * The file holds a secret, so it is written 0600 in a 0700 folder, through a
 * temporary file renamed into place (a crash never leaves half a token).
 */

export interface SavedLogin {
  /** host:port */
  server: string;
  token: string;
  tls: boolean;
  /** sha256:… the server certificate must match; "" = not pinned */
  fingerprint: string;
  mux: boolean;
}

/** The file is read whole; a login is a few hundred bytes, so anything far larger is not ours. */
const MAX_FILE_BYTES = 64 * 1024;
const FILE_NAME = 'login.json';

/** `$XDG_CONFIG_HOME/burrow`, else `~/.config/burrow` (a relative XDG_CONFIG_HOME is ignored, as the XDG spec says). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'burrow');
}

export function loginFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), FILE_NAME);
}

/** The saved login, or undefined when there is none; a damaged file is an error naming it. */
export function readSavedLogin(env: NodeJS.ProcessEnv = process.env): SavedLogin | undefined {
  const file = loginFile(env);
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON: run "burrow login" again`);
  }
  const o = raw as Partial<Record<keyof SavedLogin, unknown>>;
  if (typeof o !== 'object' || o === null || typeof o.server !== 'string' || typeof o.token !== 'string') {
    throw new Error(`${file} has no server and token: run "burrow login" again`);
  }
  return {
    server: o.server,
    token: o.token,
    tls: o.tls !== false,
    fingerprint: typeof o.fingerprint === 'string' ? o.fingerprint : '',
    mux: o.mux !== false,
  };
}

export function saveLogin(login: SavedLogin, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, FILE_NAME);
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  try {
    // Exclusive: never through a link or a file someone else left there.
    writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The mode given to writeFileSync is masked by the umask; the token file must be 0600 whatever it is.
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

/** Removes the saved login; false when there was none. */
export function removeLogin(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = loginFile(env);
  try {
    rmSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
