import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { collect, socketPair } from '../helpers/streams.js';
import { randomBytes } from 'node:crypto';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { INITIAL_STREAM_WINDOW } from '../../src/mux/header.js';
import { relay, type TrafficCounter } from '../../src/relay/pipe.js';

/** visitor <-> [a | relay | b] <-> service */
async function relayed(t: TestContext, opts: { halfCloseIdleMs?: number } = {}) {
  const [visitor, a] = await socketPair(t, { allowHalfOpen: true });
  const [b, service] = await socketPair(t, { allowHalfOpen: true });
  const counter: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  const done = relay(a, b, { counter, ...opts });
  return { visitor, service, a, b, counter, done };
}

test('half-close is forwarded and the other direction keeps flowing', async (t) => {
  const { visitor, service, counter, done } = await relayed(t);
  const serviceGot = collect(service);
  visitor.end('request');
  assert.equal((await serviceGot).toString(), 'request');
  // The visitor finished sending; the response still reaches it.
  const visitorGot = collect(visitor);
  service.end('response after half-close');
  assert.equal((await visitorGot).toString(), 'response after half-close');
  await done;
  assert.deepEqual(counter, { bytesIn: 7, bytesOut: 25 });
});

test('a hang-up on one side destroys the other', async (t) => {
  const { visitor, service, done } = await relayed(t);
  service.on('error', () => {});
  service.resume();
  const serviceEnded = once(service, 'end');
  visitor.resetAndDestroy();
  await done;
  await serviceEnded;
  service.destroy();
});

test('a half-closed pair that stays silent is torn down', async (t) => {
  const { visitor, service, a, b, done } = await relayed(t, { halfCloseIdleMs: 50 });
  service.resume();
  visitor.resume();
  visitor.end();
  await done;
  assert.ok(a.destroyed && b.destroyed);
  service.destroy();
});

/**
 * visitor <-> [a | relay | stream] ~yamux~ peer, where the peer grants only
 * the smallest window and does not read yet: after the visitor uploads more
 * than that window and ends, the relay has seen the end while the upload's
 * tail still waits for credit in `stream`. Then the peer ends its side too.
 */
async function bothEndedWithTailQueued(t: TestContext, opts: { halfCloseIdleMs?: number } = {}) {
  const [visitor, a] = await socketPair(t, { allowHalfOpen: true });
  const [left, right] = await socketPair(t, { allowHalfOpen: true });
  const mux = { keepaliveIntervalMs: 0, maxStreamWindow: INITIAL_STREAM_WINDOW };
  const near = new YamuxSession(left, { ...mux, client: true });
  const far = new YamuxSession(right, { ...mux, client: false });
  t.after(() => {
    near.destroy();
    far.destroy();
    visitor.destroy();
  });
  const accepted = once(far, 'stream');
  const stream = near.open();
  const [peer] = (await accepted) as [YamuxStream];
  peer.pause();
  const done = relay(a, stream, opts);

  const upload = randomBytes(INITIAL_STREAM_WINDOW + 150_000);
  const visitorEnded = once(a, 'end');
  visitor.end(upload);
  await visitorEnded;
  assert.ok(stream.writableLength > 0, 'the tail waits for credit');
  const visitorGot = collect(visitor);
  const peerEnded = once(peer, 'end');
  peer.end();
  await visitorGot;
  return { a, stream, peer, peerEnded, upload, done };
}

test('when both sides end, the direction still writing to a slow reader is flushed before teardown', async (t) => {
  const { peer, peerEnded, upload, done } = await bothEndedWithTailQueued(t);
  // The reader catches up: every byte must still arrive.
  const chunks: Buffer[] = [];
  peer.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  peer.resume();
  await peerEnded;
  assert.ok(Buffer.concat(chunks).equals(upload), `got ${Buffer.concat(chunks).length} of ${upload.length} bytes`);
  await done;
});

test('a destination destroyed while flushing its tail after both sides ended ends the relay at once', { timeout: 20_000 }, async (t) => {
  // An idle timer far longer than the test may take: the teardown must not wait for it.
  const { a, stream, done } = await bothEndedWithTailQueued(t, { halfCloseIdleMs: 3_600_000 });
  // The stream goes away without an error (its session closing does that):
  // the relay settles now, not when the idle timer would fire.
  stream.destroy();
  await done;
  assert.ok(a.destroyed);
});
