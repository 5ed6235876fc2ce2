import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from './logger.js';

/**
 * Keeps a long-running server or client near the memory it actually holds.
 *
 * Two things V8 does by default cost a tunnel on a small box tens of MiB
 * that it never gets back (measured in docs/benchmarks.md):
 *
 * - When many objects survive young collections at once (a burst of new
 *   connections: each one's sockets and stream state live on), V8 doubles
 *   the young generation, 2 → 32 MiB per process, and keeps it at that size
 *   for as long as the process stays quiet. We hold the growth factor at 1:
 *   a relay's per-chunk garbage dies young at any size, and what survives is
 *   per-connection state that is promoted either way.
 * - Garbage promoted during a burst stays until old space reaches its next
 *   limit, which V8 sets at up to 4× what the last full collection kept
 *   (we set 1.5×), and which an idle process never reaches. Once the process goes quiet
 *   after growing, one full collection hands that memory back. It runs only
 *   while the event loop is nearly idle, so nobody waits on its pause
 *   (15–25 ms with 1000 connections open), only after old space grew by
 *   4 MiB, and at most once in 30 s.
 *
 * `BURROW_HEAP=default` in the environment leaves V8's own sizing alone.
 */

const CHECK_EVERY_MS = 1000;
/** Event-loop busy share over the last check below which the process counts as quiet. */
const QUIET_BELOW = 0.02;
/** Growth of the old generation since the last collection worth a collection of its own. */
const WORTH_COLLECTING = 4 * 1024 * 1024;
/**
 * Least time between two of our collections. A lightly used relay promotes a
 * little all the time; without a gap it would be collected every few seconds
 * for good, where V8 alone would wait for its own limit.
 */
const MIN_GAP_MS = 30_000;

/** `BURROW_HEAP=default` (or `off`, any case): V8 sizes the heap as it would without burrow. */
export const heapPolicyOff = (env: NodeJS.ProcessEnv = process.env): boolean => /^(default|off)$/i.test((env.BURROW_HEAP ?? '').trim());

let running: (() => void) | undefined;

/** Starts the policy for this process (a second call returns the first one's stop); the stop is for tests and embedders. */
export function keepHeapSmall(log: Logger, opts: { minGapMs?: number } = {}): () => void {
  running ??= start(log, opts.minGapMs ?? MIN_GAP_MS);
  return running;
}

/**
 * Holds the young generation at its starting size and lets old space grow by
 * half of what the last full collection left, not by V8's factor of up to 4
 * for small heaps. cli/start-command.ts calls this before the rest of the
 * command is imported: loading the modules is itself a burst.
 */
export function sizeHeapForRelay(): void {
  if (heapPolicyOff()) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=50');
}

function start(log: Logger, minGapMs: number): () => void {
  const setting = (process.env.BURROW_HEAP ?? '').trim();
  if (heapPolicyOff()) {
    log.debug(`heap sizing left to V8's defaults (BURROW_HEAP=${setting})`);
    return () => {};
  }
  if (setting !== '') log.warn(`BURROW_HEAP=${JSON.stringify(setting)} is not a setting (only "default" or "off"); burrow sizes the heap as usual`);
  sizeHeapForRelay();
  // Collected when quiet if old space grew by WORTH_COLLECTING, or the young generation did (a full collection in a quiet process shrinks it).
  // The first quiet moment after start collects too: loading the modules has grown the young generation already.
  let after = { ...heapNow(), young: 0 };
  // Only collections for old-space growth start the gap: the one at start, for the young generation alone, does not.
  let lastAt = -Infinity;
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (busy >= QUIET_BELOW || performance.now() - lastAt < minGapMs) return;
    const before = heapNow();
    const grew = before.old - after.old >= WORTH_COLLECTING;
    if (!grew && before.young <= after.young) return;
    const started = performance.now();
    if (grew) lastAt = started;
    if (!collectFully()) {
      clearInterval(timer);
      log.debug('this Node offers no full collection: the heap is left to V8 from here');
      return;
    }
    after = heapNow();
    log.debug('heap collected while quiet', {
      ms: Math.round(performance.now() - started),
      usedMiB: `${mib(before.used)} → ${mib(after.used)}`,
      youngMiB: `${mib(before.young)} → ${mib(after.young)}`,
    });
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    running = undefined;
  };
}

const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** Bytes used on the heap, of them in the old generation (what young collections do not free), and the young generation's committed size. */
export function heapNow(): { used: number; old: number; young: number } {
  let used = 0;
  let old = 0;
  let young = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    used += s.space_used_size;
    if (s.space_name === 'new_space') young = s.space_size;
    else if (s.space_name !== 'new_large_object_space') old += s.space_used_size;
  }
  return { used, old, young };
}

/**
 * One full collection. Node offers V8's only behind `--expose-gc`: the flag
 * is set while a fresh context is made (it then carries a `gc` global) and
 * cleared again, so no other code sees it. The context (~0.5 MiB) is made
 * for each collection and left to it, not kept between quiet periods.
 * False when this Node has no such global.
 */
function collectFully(): boolean {
  v8.setFlagsFromString('--expose-gc');
  let gc: unknown;
  try {
    gc = vm.runInNewContext('gc');
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return false;
  (gc as () => void)();
  return true;
}
