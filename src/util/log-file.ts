import { appendFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** YYYYMMDD in local time: the suffix a day's log gets when the next day starts. */
function dayKey(d: Date): string {
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * A log sink for `log.to = <file>`: appends one line per event; when the day
 * changes the file is renamed `<file>.YYYYMMDD` and files older than
 * `maxDays` are deleted (frp's log.maxDays). Log lines are per event, never
 * per relayed chunk, so a synchronous append keeps ordering simple and loses
 * nothing on exit.
 */
export function createFileSink(file: string, maxDays: number, now: () => Date = () => new Date()): (line: string) => void {
  let current = dayKey(now());
  try {
    current = dayKey(statSync(file).mtime);
  } catch {
    // no file yet: today
  }
  return (line) => {
    const today = dayKey(now());
    if (today !== current) {
      try {
        renameSync(file, `${file}.${current}`);
      } catch {
        // nothing written that day
      }
      current = today;
      prune(file, maxDays, now());
    }
    appendFileSync(file, line + '\n');
  };
}

function prune(file: string, maxDays: number, now: Date): void {
  if (maxDays <= 0) return;
  const oldest = new Date(now);
  oldest.setDate(oldest.getDate() - maxDays);
  const limit = dayKey(oldest);
  const prefix = basename(file) + '.';
  for (const name of readdirSync(dirname(file))) {
    const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (/^\d{8}$/.test(suffix) && suffix < limit) unlinkSync(join(dirname(file), name));
  }
}
