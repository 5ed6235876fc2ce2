/**
 * The timer calls a long-lived object makes (idle timeouts, heartbeats,
 * fallback waits), passed in so a test can drive them with a fake clock
 * instead of racing the wall clock. Node's own timers are the default.
 */
export interface Timer {
  /** starts the countdown again from now (an idle timer after traffic) */
  refresh(): unknown;
  /** does not keep the process alive */
  unref(): unknown;
  /** cancels it; idempotent */
  close(): unknown;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
};
