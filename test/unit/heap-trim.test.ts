import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { test } from 'node:test';
import { heapNow, heapPolicyOff, keepHeapSmall } from '../../src/util/heap-trim.js';
import { createLogger } from '../../src/util/logger.js';

// One process per test file: the policy changes this process's V8 flags, which is what is under test.

function collections(): { events: EventEmitter; log: ReturnType<typeof createLogger> } {
  const events = new EventEmitter();
  const log = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      const entry = JSON.parse(line) as { msg: string };
      if (entry.msg === 'heap collected while quiet') events.emit('collected', entry);
    },
  });
  return { events, log };
}

/** Objects that survive young collections, as a burst of new connections leaves: about 10 MiB. */
function survivingBurst(): unknown[] {
  const kept: unknown[] = [];
  for (let i = 0; i < 100_000; i++) kept.push({ id: i, name: `connection ${i}`, parts: [i, i + 1] });
  return kept;
}

// Under BURROW_HEAP=default the policy is off by design; the first two tests have nothing to wait for.
const policyOff = heapPolicyOff();

test('the young generation keeps its size through a burst of survivors, and a quiet process hands the burst back', { skip: policyOff }, async () => {
  const { events, log } = collections();
  const youngAtStart = heapNow().young;
  const stop = keepHeapSmall(log);
  // The policy's timer does not hold a process open; this test waits on it.
  const alive = setInterval(() => {}, 1000);
  try {
    let burst: unknown[] | null = survivingBurst();
    assert.ok(heapNow().young <= youngAtStart, `young generation grew from ${youngAtStart} to ${heapNow().young} bytes`);
    const usedWithBurst = heapNow().used;
    assert.equal(burst.length, 100_000);
    burst = null;
    // On a loaded machine V8 may have collected some of it on its own first; either way it is gone once the policy ran.
    const [entry] = (await once(events, 'collected')) as [{ usedMiB: string }];
    const after = Number(entry.usedMiB.split(' → ')[1]);
    assert.ok(after * 1048576 < usedWithBurst - 6 * 1048576, `still held after the collection: ${entry.usedMiB} MiB, ${usedWithBurst} bytes with the burst`);
  } finally {
    clearInterval(alive);
    stop();
  }
});

test('a busy event loop is not collected, however much garbage waits; once it goes quiet, it is', { skip: policyOff }, async () => {
  const { events, log } = collections();
  const stop = keepHeapSmall(log);
  const alive = setInterval(() => {}, 1000);
  let collected = 0;
  events.on('collected', () => collected++);
  try {
    // Garbage past the threshold, then 2.5 s of a loop that never idles (each turn allocates and yields at once).
    survivingBurst();
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      survivingBurst().length = 0;
    }
    assert.equal(collected, 0);
    await once(events, 'collected');
  } finally {
    clearInterval(alive);
    stop();
  }
});

test('a trickle of short-lived garbage, or growth again soon after, brings no second collection', { skip: policyOff }, async () => {
  const { events, log } = collections();
  const stop = keepHeapSmall(log, { minGapMs: 60_000 });
  const alive = setInterval(() => {}, 1000);
  let collected = 0;
  events.on('collected', () => collected++);
  try {
    let burst: unknown[] | null = survivingBurst();
    assert.equal(burst.length, 100_000);
    burst = null;
    await once(events, 'collected');
    // 3.5 s of a lightly used relay: chunks that die young (about 1 MiB/s), the loop mostly idle; then old-space growth again.
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 50; i++) Buffer.alloc(1024).fill(i);
    }
    const kept = survivingBurst();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(kept.length, 100_000);
    assert.equal(collected, 1);
  } finally {
    clearInterval(alive);
    stop();
  }
});

test('BURROW_HEAP=default (or off) leaves V8 its own sizing', () => {
  assert.equal(heapPolicyOff({ BURROW_HEAP: 'default' }), true);
  assert.equal(heapPolicyOff({ BURROW_HEAP: ' OFF ' }), true);
  assert.equal(heapPolicyOff({ BURROW_HEAP: '' }), false);
  assert.equal(heapPolicyOff({}), false);
  assert.equal(heapPolicyOff({ BURROW_HEAP: 'small' }), false);
});
