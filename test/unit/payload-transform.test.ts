import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { collect, socketPair } from '../helpers/streams.js';
import type { Duplex } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { CfbEncryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import { SnappyFrameEncoder } from '../../src/protocol/snappy-frame.js';
import { wrapPayload, type PayloadTransformOptions } from '../../src/proxy/payload-transform.js';
import { isBurrowError } from '../../src/util/errors.js';

const KEY = deriveCipherKey('abc');
const MODES: [string, PayloadTransformOptions][] = [
  ['none', {}],
  ['encryption', { encryptionKey: KEY }],
  ['compression', { compression: true }],
  ['both', { encryptionKey: KEY, compression: true }],
];
const SIZE = 8 * 1024 * 1024;

/** Half compressible text, half random, so compressed and stored chunks both occur. */
function testData(size: number): Buffer {
  const text = Buffer.from('burrow tunnels bytes through frp-compatible pipes\n'.repeat(1400));
  const parts: Buffer[] = [];
  for (let total = 0; total < size; ) {
    const part = parts.length % 2 === 0 ? text : randomBytes(70_000);
    parts.push(part);
    total += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

async function writeAll(stream: Duplex, data: Buffer): Promise<void> {
  for (let i = 0, n = 1; i < data.length; i += n) {
    n = 1 + ((i * 7919) % 200_000);
    if (!stream.write(data.subarray(i, i + n))) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const [mode, opts] of MODES) {
  test(`${mode}: 8 MiB each way over TCP, byte-exact, with half-close`, { timeout: 60_000 }, async (t) => {
    const [a, b] = await socketPair(t, { allowHalfOpen: true });
    const wa = wrapPayload(a, opts);
    const wb = wrapPayload(b, opts);
    assert.equal(wa === a, mode === 'none', 'the stream itself when nothing is on');
    const closed = Promise.all([once(wa, 'close'), once(wb, 'close')]);

    const there = testData(SIZE);
    const back = testData(SIZE);
    const received = collect(wb);
    await writeAll(wa, there);
    assert.equal(sha(await received), sha(there));

    // a has half-closed; b's writable side and a's readable side still work.
    assert.equal(wb.writable, true);
    const returned = collect(wa);
    await writeAll(wb, back);
    assert.equal(sha(await returned), sha(back));
    await closed;
    assert.ok(a.destroyed && b.destroyed);
  });

  test(`${mode}: a receiver that stops reading pushes back to the writer`, { timeout: 60_000 }, async (t) => {
    const [a, b] = await socketPair(t, { allowHalfOpen: true });
    const wa = wrapPayload(a, opts);
    const wb = wrapPayload(b, opts);
    const parts: Buffer[] = [];
    wb.on('data', (chunk: Buffer) => parts.push(chunk));
    wb.once('data', () => wb.pause());

    // Incompressible, so compression cannot hide the volume.
    const chunk = randomBytes(64 * 1024);
    const cap = 64 * 1024 * 1024;
    let written = 0;
    let accepted = true;
    while (accepted && written < cap) {
      accepted = wa.write(chunk);
      written += chunk.length;
      // Let the receiver run: without back-pressure it would keep draining and write() stay true.
      await nextTurn();
    }
    assert.equal(accepted, false, `write() still true after ${written} bytes`);
    assert.ok(wb.isPaused());
    assert.ok(wb.readableLength <= 256 * 1024, `receiver buffered ${wb.readableLength} bytes`);
    if (mode !== 'none') assert.ok(b.isPaused(), 'the inner socket is paused while our buffer is full');

    const done = once(wb, 'end');
    wb.resume();
    wa.end();
    await done;
    const got = Buffer.concat(parts);
    assert.equal(got.length, written);
    for (let off = 0; off < got.length; off += chunk.length) {
      assert.ok(got.subarray(off, off + chunk.length).equals(chunk), `bytes at ${off}`);
    }
    wb.end();
    wa.resume();
    await Promise.all([once(wa, 'close'), once(wb, 'close')]);
  });
}

test('payload bytes read past StartWorkConn are decoded once put back on the socket', { timeout: 10_000 }, async (t) => {
  const [a, b] = await socketPair(t, { allowHalfOpen: true });
  // The sender's first write carries the plaintext frame and the start of the transformed payload.
  const encryptor = new CfbEncryptor(KEY);
  const framer = new SnappyFrameEncoder();
  const payload = Buffer.from('hello burrow\n'.repeat(100));
  a.end(Buffer.concat([encodeMessage({ type: 'StartWorkConn', body: { proxy_name: 'nas.echo' } }), encryptor.update(framer.encode(payload))]));

  // Read the frame in paused mode, as the session code does, then put the extra bytes back.
  const decoder = new MessageDecoder();
  const msg = await new Promise<Message>((resolve) => {
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = b.read() as Buffer | null) !== null) {
        decoder.push(chunk);
        const got = decoder.next();
        if (got) {
          b.off('readable', onReadable);
          resolve(got);
          return;
        }
      }
    };
    b.on('readable', onReadable);
  });
  assert.equal(msg.type, 'StartWorkConn');
  const rest = decoder.takeRemainder();
  assert.ok(rest.length > 0, 'the payload arrived with the frame');
  b.unshift(rest);
  const wrapped = wrapPayload(b, { encryptionKey: KEY, compression: true });
  assert.equal((await collect(wrapped)).toString(), payload.toString());
  wrapped.destroy();
});

test('corrupt input errors the wrapper and destroys the socket under it', { timeout: 10_000 }, async (t) => {
  const [a, b] = await socketPair(t, { allowHalfOpen: true });
  const wb = wrapPayload(b, { compression: true });
  wb.resume();
  a.write(Buffer.from('definitely not a snappy stream'));
  const [err] = (await once(wb, 'error')) as [unknown];
  assert.ok(isBurrowError(err, 'BURROW_COMPRESSION'));
  await once(b, 'close');
  assert.ok(b.destroyed);
  a.destroy();
});

test('destroying either side tears down the other', { timeout: 10_000 }, async (t) => {
  const [a, b] = await socketPair(t, { allowHalfOpen: true });
  const wa = wrapPayload(a, { encryptionKey: KEY });
  wa.destroy();
  await once(a, 'close');
  assert.ok(a.destroyed);

  const wb = wrapPayload(b, { encryptionKey: KEY });
  // Not events.once: that would reject on the 'error' that comes first.
  const closed = new Promise<void>((resolve) => wb.once('close', () => resolve()));
  b.destroy(new Error('peer vanished'));
  const [err] = (await once(wb, 'error')) as [Error];
  assert.equal(err.message, 'peer vanished');
  await closed;
  assert.ok(wb.destroyed);
});
