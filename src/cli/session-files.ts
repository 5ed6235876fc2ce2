import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDir } from './credentials.js';

/**
 * How `burrow status` finds the running `burrow http|tcp|udp` processes:
 * each writes `<config dir>/run/<pid>.json` with its admin API's port while
 * it runs and removes it when it stops. A file whose process is gone (killed
 * with SIGKILL, a crash) is skipped and removed by the next reader.
 */

export interface SessionRecord {
  pid: number;
  /** the command line's kind: http, tcp, udp */
  kind: string;
  /** the admin API (and inspector page) on 127.0.0.1 */
  adminPort: number;
  startedAt: number;
}

/** More sessions than this are not listed (a bound on the files read). */
const MAX_SESSIONS = 64;
const MAX_FILE_BYTES = 4096;

function runDir(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'run');
}

/** Records this process; returns the function that removes the record (idempotent, synchronous so it works in an 'exit' handler). */
export function recordSession(record: SessionRecord, env: NodeJS.ProcessEnv = process.env): () => void {
  const dir = runDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${record.pid}.json`);
  writeFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    rmSync(file, { force: true });
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: the pid was reused by another user's process, so not ours either.
    return false;
  }
}

/** The sessions whose process still runs, oldest first. */
export function liveSessions(env: NodeJS.ProcessEnv = process.env): SessionRecord[] {
  const dir = runDir(env);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const found: SessionRecord[] = [];
  for (const name of names.slice(0, MAX_SESSIONS)) {
    const file = join(dir, name);
    let record: SessionRecord;
    try {
      const bytes = readFileSync(file);
      if (bytes.length > MAX_FILE_BYTES) continue;
      record = JSON.parse(bytes.toString('utf8')) as SessionRecord;
    } catch {
      continue;
    }
    if (typeof record.pid !== 'number' || typeof record.adminPort !== 'number') continue;
    if (!alive(record.pid)) {
      rmSync(file, { force: true });
      continue;
    }
    found.push(record);
  }
  return found.sort((a, b) => a.startedAt - b.startedAt);
}
