import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bandwidthBytes } from '../../src/protocol/bandwidth-quantity.js';
import { BandwidthLimiter, limitBandwidth } from '../../src/relay/bandwidth-limit.js';
import { fakeTimers } from '../helpers/fake-timers.js';
import { collect, readBytes, socketPair } from '../helpers/streams.js';
import { patternBytes } from '../helpers/tunnel.js';

describe('bandwidth quantities (frp units)', () => {
  test('KB and MB are binary, fractions truncate to whole bytes, empty is no limit', () => {
    assert.equal(bandwidthBytes('10KB'), 10 * 1024);
    assert.equal(bandwidthBytes('1MB'), 1024 * 1024);
    assert.equal(bandwidthBytes('1.5MB'), 1.5 * 1024 * 1024);
    assert.equal(bandwidthBytes('0.3KB'), 307);
    assert.equal(bandwidthBytes(' 2KB '), 2048);
    assert.equal(bandwidthBytes(''), 0);
    assert.equal(bandwidthBytes('0KB'), 0);
  });

  test('any other unit is refused with a coded error', () => {
    for (const bad of ['10kb', '10GB', '10', 'KB', '1 0KB', 'xKB']) {
      assert.throws(() => bandwidthBytes(bad), { code: 'BURROW_CONFIG_INVALID' }, bad);
    }
  });
});

describe('BandwidthLimiter (token bucket, burst = one second)', () => {
  test('starts full, then makes each reservation wait for its debt', () => {
    const clock = fakeTimers();
    const limiter = new BandwidthLimiter(1000, clock);
    assert.equal(limiter.burst, 1000);
    assert.equal(limiter.reserve(1000), 0, 'a full burst passes at once');
    assert.equal(limiter.reserve(500), 500, '500 bytes of debt at 1000 B/s');
    assert.equal(limiter.reserve(500), 1000, 'the next caller queues behind it');
    clock.tick(1000);
    assert.equal(limiter.reserve(1), 1, 'the debt shrinks with time');
  });

  test('an idle bucket refills to one burst, not more', () => {
    const clock = fakeTimers();
    const limiter = new BandwidthLimiter(2048, clock);
    limiter.reserve(2048);
    clock.tick(60_000);
    assert.equal(limiter.reserve(2048), 0);
    assert.equal(limiter.reserve(1024), 500);
  });

  test('refuses a rate below one byte a second', () => {
    assert.throws(() => new BandwidthLimiter(0), RangeError);
  });
});

describe('limitBandwidth over a real socket pair', () => {
  test('reads pass one burst at a time as the clock allows, intact and in order', async (t) => {
    const [a, b] = await socketPair(t);
    const clock = fakeTimers();
    const limited = limitBandwidth(b, new BandwidthLimiter(1024, clock));
    const data = patternBytes(3 * 1024 + 100);
    a.end(data);
    const first = await readBytes(limited, 1024);
    assert.ok(first.equals(data.subarray(0, 1024)));
    // The rest waits for tokens: exactly one timer, nothing busy.
    await waitUntil(() => clock.pending() === 1);
    const rest = collect(limited);
    limited.resume(); // readBytes paused it
    clock.tick(1000);
    await waitUntil(() => clock.pending() === 1);
    clock.tick(1000);
    await waitUntil(() => clock.pending() === 1);
    clock.tick(1000);
    const got = Buffer.concat([first, await rest]);
    assert.ok(got.equals(data), 'every byte arrives once, in order');
    assert.equal(clock.pending(), 0);
  });

  test('writes are paced the same way and share the bucket with reads', async (t) => {
    const [a, b] = await socketPair(t);
    const clock = fakeTimers();
    const limiter = new BandwidthLimiter(1024, clock);
    const limited = limitBandwidth(b, limiter);
    const data = patternBytes(2048, 7);
    let finished = false;
    limited.write(data, () => {
      finished = true;
    });
    const first = await readBytes(a, 1024);
    assert.ok(first.equals(data.subarray(0, 1024)));
    assert.equal(finished, false, 'the write completes only when its last piece went out');
    // A read now queues behind the write's debt: the bucket is shared.
    assert.equal(limiter.reserve(0), 1000);
    clock.tick(1000);
    const second = await readBytes(a, 1024);
    assert.ok(second.equals(data.subarray(1024)));
    await waitUntil(() => finished);
  });

  test('a half-close passes once the paced bytes are through; destroy cancels the wait', async (t) => {
    const [a, b] = await socketPair(t, { allowHalfOpen: true });
    const clock = fakeTimers();
    const limited = limitBandwidth(b, new BandwidthLimiter(1024, clock));
    a.end(patternBytes(1500));
    const all = collect(limited);
    await waitUntil(() => clock.pending() === 1);
    clock.tick(1000);
    assert.equal((await all).length, 1500);

    const [c, d] = await socketPair(t);
    const other = limitBandwidth(d, new BandwidthLimiter(1024, clock));
    other.resume();
    c.write(patternBytes(4096));
    await waitUntil(() => clock.pending() === 1);
    other.destroy();
    assert.equal(clock.pending(), 0, 'no timer outlives the connection');
    assert.ok(d.destroyed);
  });
});

/** Lets socket events run until `cond` holds (no clock involved: the fake clock only moves on tick). */
async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'the condition never held');
}
