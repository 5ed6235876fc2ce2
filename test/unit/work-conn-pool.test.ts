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
