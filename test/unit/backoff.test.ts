import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/util/backoff.js';

test('backoff starts at 1 s, doubles, caps at 20 s', () => {
  const b = new Backoff(1000, 20_000, 0.2, () => 0);
  assert.deepEqual(
    Array.from({ length: 7 }, () => b.next()),
    [1000, 2000, 4000, 8000, 16000, 20000, 20000],
  );
  b.reset();
  assert.equal(b.next(), 1000);
});

test('jitter adds at most the given fraction', () => {
  const b = new Backoff(1000, 20_000, 0.2, () => 0.999);
  assert.equal(b.next(), 1200);
  assert.equal(b.next(), 2400);
});
