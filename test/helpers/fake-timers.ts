import type { Timer, Timers } from '../../src/util/timers.js';

export interface FakeTimers extends Timers {
  /** moves the clock forward by `ms`, firing every timer that falls due on the way, in order */
  tick(ms: number): void;
  /** timers still scheduled */
  pending(): number;
}

interface Entry {
  at: number;
  seq: number;
  every: number | undefined;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that moves only when the test says so, for code that takes a
 * `Timers` parameter. Sockets and promises keep running on the real event
 * loop; only the timers handed to the code under test wait for tick().
 */
export function fakeTimers(start = 1_000_000): FakeTimers {
  let now = start;
  let seq = 0;
  const entries = new Set<Entry>();
  const schedule = (fn: () => void, ms: number, every: number | undefined): Timer => {
    const e: Entry = { at: now + ms, seq: seq++, every, fn, live: true };
    entries.add(e);
    return {
      refresh() {
        if (!e.live) return;
        e.at = now + ms;
        e.seq = seq++;
      },
      unref() {},
      close() {
        e.live = false;
        entries.delete(e);
      },
    };
  };
  return {
    now: () => now,
    setTimeout: (fn, ms) => schedule(fn, Math.max(1, ms), undefined),
    setInterval: (fn, ms) => schedule(fn, Math.max(1, ms), Math.max(1, ms)),
    tick(ms) {
      const until = now + ms;
      for (;;) {
        let next: Entry | undefined;
        for (const e of entries) if (e.at <= until && (!next || e.at < next.at || (e.at === next.at && e.seq < next.seq))) next = e;
        if (!next) break;
        now = next.at;
        if (next.every === undefined) {
          next.live = false;
          entries.delete(next);
        } else {
          next.at += next.every;
          next.seq = seq++;
        }
        next.fn();
      }
      now = until;
    },
    pending: () => entries.size,
  };
}
