import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { WorkConnPool } from '../../src/server/work-conn-pool.js';
import { isBurrowError } from '../../src/util/errors.js';

test('taking an idle connection asks the client for a replacement', async () => {
  let requests = 0;
  const pool = new WorkConnPool(2, () => requests++);
  const a = new PassThrough();
  assert.equal(pool.put(a), true);
  assert.equal(await pool.take(1000), a);
  assert.equal(requests, 1);
});

test('an empty pool requests one and hands it to the waiting visitor', async () => {
  let requests = 0;
  const pool = new WorkConnPool(2, () => requests++);
  const waiting = pool.take(5000);
  assert.equal(requests, 1);
  const a = new PassThrough();
  pool.put(a);
  assert.equal(await waiting, a);
  assert.equal(requests, 2, 'a replacement is requested after the wait');
});

test('a burst of waiting visitors never asks for more than the pool can hold', async () => {
  let requests = 0;
  const capacity = 3;
  const pool = new WorkConnPool(capacity, () => requests++);
  // Ten visitors find the pool empty: each asks for its own connection.
  const waiting = Array.from({ length: 10 }, () => pool.take(5000));
  assert.equal(requests, 10);
  // The client answers every request; each answer goes to a waiter, and growth stops at capacity.
  const answered: PassThrough[] = [];
  while (answered.length < requests) {
    const s = new PassThrough();
    answered.push(s);
    assert.equal(pool.put(s), true, `answer ${answered.length} of ${requests} is taken`);
    await Promise.resolve();
    await Promise.resolve();
  }
  await Promise.all(waiting);
  assert.equal(requests, 10 + capacity, 'the waits grew the pool by its capacity and no more');
  assert.equal(pool.idleCount, capacity);
});

test('a request the client never answers does not stop the pool from growing for good', async () => {
  let requests = 0;
  const pool = new WorkConnPool(1, () => requests++);
  await assert.rejects(pool.take(10), (err: unknown) => isBurrowError(err, 'BURROW_TIMEOUT'));
  const waiting = pool.take(5000);
  assert.equal(requests, 2, 'the next visitor asks again');
  pool.put(new PassThrough());
  await waiting;
  await Promise.resolve();
  assert.equal(requests, 3, 'and, its wait over, grows the pool');
});

test('capacity is bounded and a closed connection is never handed out', async () => {
  const pool = new WorkConnPool(1, () => {});
  const a = new PassThrough();
  const b = new PassThrough();
  assert.equal(pool.put(a), true);
  assert.equal(pool.put(b), false);
  a.destroy();
  await new Promise((r) => a.once('close', r));
  assert.equal(pool.idleCount, 0);
  await assert.rejects(pool.take(20), (err: unknown) => isBurrowError(err, 'BURROW_TIMEOUT'));
});

test('closing the pool fails waiters and destroys idle connections', async () => {
  const pool = new WorkConnPool(2, () => {});
  const waiting = pool.take(5000);
  pool.close();
  await assert.rejects(waiting, (err: unknown) => isBurrowError(err, 'BURROW_CLOSED'));
  const a = new PassThrough();
  assert.equal(pool.put(a), false);
});
