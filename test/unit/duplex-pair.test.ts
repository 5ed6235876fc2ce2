import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { duplexPair } from '../../src/util/duplex-pair.js';

test('duplexPair: bytes cross both ways, with back-pressure until the other end reads', async () => {
  const [a, b] = duplexPair();
  const big = Buffer.alloc(1024 * 1024, 7);
  let flushed = false;
  a.write(big, () => {
    flushed = true;
  });
  // Nobody reads b yet: the write waits (its buffer is far past b's high-water mark).
  await new Promise((r) => setImmediate(r));
  assert.equal(flushed, false);
  const chunks: Buffer[] = [];
  b.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((r) => a.write(Buffer.alloc(0), () => r()));
  assert.equal(flushed, true);
  assert.equal(Buffer.concat(chunks).length, big.length);
  b.write('back');
  const [back] = (await once(a, 'data')) as [Buffer];
  assert.equal(back.toString(), 'back');
});

test('duplexPair: end is a half-close; destroy reaches the other end', async () => {
  const [a, b] = duplexPair();
  b.resume();
  a.end('last');
  await once(b, 'end');
  // b can still answer after a's half-close.
  const got = once(a, 'data');
  b.write('answer');
  assert.equal(((await got) as [Buffer])[0].toString(), 'answer');
  const closed = once(a, 'close');
  b.destroy();
  await closed;
  assert.equal(a.destroyed, true);
});
