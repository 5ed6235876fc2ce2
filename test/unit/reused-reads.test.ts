import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { collect, socketPair } from '../helpers/streams.js';
import tls from 'node:tls';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { Flag, FrameType, frameHeader } from '../../src/mux/header.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { relay } from '../../src/relay/pipe.js';
import { RELAY_HIGH_WATER_MARK } from '../../src/util/socket-buffers.js';
import { ownReadBuffersInUse, readsIntoReusedBuffers, reuseReads, reusedReadsAvailable, reusedReadsEnabled } from '../../src/relay/reused-reads.js';

// With BURROW_REUSED_READS=off every socket reads the plain way: the same
// checks then hold with no reused buffer anywhere (see src/relay/README.md).

/**
 * Real TCP sockets with the relay's write buffer size, so that a relay writing
 * to a busy socket goes on reading while earlier chunks are still queued.
 */
const relayPair = (t: TestContext): Promise<[Socket, Socket]> => socketPair(t, { allowHalfOpen: true, highWaterMark: RELAY_HIGH_WATER_MARK });

/** A connected pair of real TLS sockets on 127.0.0.1: [client end, server end]. */
async function tlsPair(t: TestContext): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const { cert, key } = generateSelfSignedCertificate();
  const server = tls.createServer({ cert, key, allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const accepted = once(server, 'secureConnection');
  const client = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
  await once(client, 'secureConnect');
  const [inner] = (await accepted) as [tls.TLSSocket];
  t.after(() => {
    client.destroy();
    inner.destroy();
  });
  return [client, inner];
}

/** Reads everything, pausing after each chunk until the next turn of the event loop, so writers toward it queue. */
function slowCollect(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => {
    chunks.push(Buffer.from(c));
    s.pause();
    setImmediate(() => s.resume());
  });
  return once(s, 'end').then(() => Buffer.concat(chunks));
}

function whenClosed(s: Socket): Promise<unknown> {
  return s.closed ? Promise.resolve() : once(s, 'close');
}

/** Writes `data` in 100 kB pieces, honouring back-pressure, then ends. */
async function send(s: NodeJS.WritableStream, data: Buffer): Promise<void> {
  for (let i = 0; i < data.length; i += 100_000) {
    if (!s.write(data.subarray(i, i + 100_000))) await once(s, 'drain');
  }
  s.end();
}

/** Sends `mib` MiB of random bytes each way between the two ends of a relayed path and checks both arrive intact. */
async function exchangeBothWays(visitor: Socket | tls.TLSSocket, service: Socket, mib: number, visitorReadsSlowly: boolean): Promise<void> {
  const up = randomBytes(mib * 1024 * 1024);
  const down = randomBytes(mib * 1024 * 1024);
  const serviceGot = slowCollect(service);
  const visitorGot = visitorReadsSlowly ? slowCollect(visitor) : collect(visitor);
  await Promise.all([send(visitor, up), send(service, down)]);
  assert.ok((await serviceGot).equals(up), 'visitor to service');
  assert.ok((await visitorGot).equals(down), 'service to visitor');
}

/**
 * A yamux session over a real TCP connection, or a TLS one (where every read
 * ends at a 16 KiB record): [client, server, the server's socket].
 */
async function yamuxPair(t: TestContext, over: 'tcp' | 'tls' = 'tcp'): Promise<[YamuxSession, YamuxSession, Socket]> {
  const [clientSock, serverSock] = over === 'tls' ? await tlsPair(t) : await relayPair(t);
  const client = new YamuxSession(clientSock, { keepaliveIntervalMs: 0, client: true });
  const server = new YamuxSession(serverSock, { keepaliveIntervalMs: 0, client: false });
  t.after(() => {
    client.destroy();
    server.destroy();
  });
  return [client, server, serverSock];
}

test('this Node offers reused reads (if this fails after a Node upgrade, relays still work, only slower)', () => {
  assert.equal(reusedReadsAvailable, true);
});

test('a relay toward a slow reader carries 32 MiB each way byte-exact, reading into reused buffers', async (t) => {
  const [visitor, a] = await relayPair(t);
  const [b, service] = await relayPair(t);
  const done = relay(a, b);
  assert.equal(readsIntoReusedBuffers(a), reusedReadsEnabled());
  assert.equal(readsIntoReusedBuffers(b), reusedReadsEnabled());
  await exchangeBothWays(visitor, service, 32, true);
  await Promise.all([done, whenClosed(a), whenClosed(b)]);
  assert.equal(ownReadBuffersInUse(), 0, 'closed sockets give their buffers up');
});

test('a source someone else also reads is left on fresh buffers, and what they kept stays intact', async (t) => {
  const [visitor, a] = await relayPair(t);
  const [b, service] = await relayPair(t);
  // An observer (like the HTTP inspector) keeps every chunk it sees.
  const observed = collect(a);
  const done = relay(a, b);
  assert.equal(readsIntoReusedBuffers(a), false);
  const up = randomBytes(8 * 1024 * 1024);
  const serviceGot = slowCollect(service);
  service.end();
  visitor.resume();
  await send(visitor, up);
  assert.ok((await serviceGot).equals(up));
  assert.ok((await observed).equals(up));
  await done;
});

test('bytes that arrived before the relay started come first, then the switch happens', async (t) => {
  const [visitor, a] = await relayPair(t);
  const [b, service] = await relayPair(t);
  // The first bytes sit in the stream's buffer (read in paused mode, as a first message is).
  a.pause();
  visitor.write('hello ');
  await once(a, 'readable');
  assert.ok(a.readableLength > 0);
  const done = relay(a, b);
  const rest = randomBytes(4 * 1024 * 1024);
  const serviceGot = collect(service);
  service.end();
  visitor.resume();
  await send(visitor, rest);
  const got = await serviceGot;
  assert.equal(got.subarray(0, 6).toString(), 'hello ');
  assert.ok(got.subarray(6).equals(rest));
  assert.equal(readsIntoReusedBuffers(a), reusedReadsEnabled());
  await done;
});

test('a TLS socket reads into reused buffers too: 16 MiB each way byte-exact', async (t) => {
  const [tlsVisitor, a] = await tlsPair(t);
  const [b, service] = await relayPair(t);
  const done = relay(a, b);
  assert.equal(readsIntoReusedBuffers(a), reusedReadsEnabled());
  await exchangeBothWays(tlsVisitor, service, 16, false);
  await done;
});

test('yamux: streams relayed to slow readers and a stream read by someone who keeps chunks share one connection byte-exact', async (t) => {
  const [client, server, serverSock] = await yamuxPair(t);
  assert.equal(readsIntoReusedBuffers(serverSock), reusedReadsEnabled());

  // Server side: each inbound stream is relayed to a local socket whose peer reads slowly, except the
  // last, which an ordinary consumer collects (it keeps views of the connection's reads).
  const services: Promise<Buffer>[] = [];
  let kept: Promise<Buffer> | undefined;
  let n = 0;
  server.on('stream', (s: YamuxStream) => {
    n += 1;
    if (n === 4) {
      kept = collect(s);
      s.end();
      return;
    }
    void relayPair(t).then(([local, service]) => {
      services.push(slowCollect(service));
      service.end();
      void relay(s, local);
    });
  });
  const payloads = [0, 1, 2, 3].map(() => randomBytes(8 * 1024 * 1024));
  const streams = payloads.map(() => client.open());
  await Promise.all(streams.map((s, i) => Promise.all([send(s, payloads[i]!), collect(s)])));
  assert.equal(services.length, 3);
  const got = await Promise.all(services);
  for (let i = 0; i < 3; i++) assert.ok(got[i]!.equals(payloads[i]!), `relayed stream ${i}`);
  assert.ok((await kept!).equals(payloads[3]!), 'the collected stream');
});

test('yamux: a relay from a socket into a stream that waits for credit carries 16 MiB byte-exact', async (t) => {
  const [client, server] = await yamuxPair(t);
  // Far end: the stream is relayed to a slow reader, so the window fills and the sender waits for credit.
  let serviceGot: Promise<Buffer> | undefined;
  server.on('stream', (s: YamuxStream) => {
    void relayPair(t).then(([local, service]) => {
      serviceGot = slowCollect(service);
      service.end();
      void relay(s, local);
    });
  });
  const [visitor, a] = await relayPair(t);
  const stream = client.open();
  const done = relay(a, stream);
  assert.equal(readsIntoReusedBuffers(a), reusedReadsEnabled());
  const up = randomBytes(16 * 1024 * 1024);
  const back = collect(visitor);
  await send(visitor, up);
  await back;
  assert.ok((await serviceGot!).equals(up));
  await done;
});

test('yamux over TLS: a frame that arrives record by record reaches the reader whole', async (t) => {
  const [client, server] = await yamuxPair(t, 'tls');
  const inbound = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  const out = client.open();
  const frames = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
  const sent = (async () => {
    for (const f of frames) if (!out.write(f)) await once(out, 'drain');
    out.end();
  })();
  const chunks: Buffer[] = [];
  const far = await inbound;
  far.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  await once(far, 'end');
  await sent;
  assert.ok(Buffer.concat(chunks).equals(Buffer.concat(frames)));
  // Each 64 KiB frame came in four or five TLS reads and is handed on whole, unless the rest of it
  // was late (a partly gathered frame goes on after a millisecond), which a busy machine may cause.
  assert.ok(chunks.length < 2 * frames.length, `${chunks.length} chunks for ${frames.length} frames`);
});

test('yamux over TLS: gathered frames relayed to slow readers arrive byte-exact (pooled buffers are not reused while queued)', async (t) => {
  const [client, server] = await yamuxPair(t, 'tls');
  const services: Promise<Buffer>[] = [];
  server.on('stream', (s: YamuxStream) => {
    void relayPair(t).then(([local, service]) => {
      services.push(slowCollect(service));
      service.end();
      void relay(s, local);
    });
  });
  const payloads = [0, 1, 2].map(() => randomBytes(8 * 1024 * 1024));
  const streams = payloads.map(() => client.open());
  await Promise.all(streams.map((s, i) => Promise.all([send(s, payloads[i]!), collect(s)])));
  const got = await Promise.all(services);
  for (let i = 0; i < payloads.length; i++) assert.ok(got[i]!.equals(payloads[i]!), `relayed stream ${i}`);
});

test('yamux over TLS: the part of a frame that has come is handed on when the rest is late', async (t) => {
  // A hand-written peer: one frame header announcing 40000 bytes, then only
  // 10000 of them. The rest is sent only once the reader has the first part.
  const [raw, serverSock] = await tlsPair(t);
  const server = new YamuxSession(serverSock, { keepaliveIntervalMs: 0, client: false });
  t.after(() => server.destroy());
  const inbound = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  const payload = randomBytes(40_000);
  raw.write(Buffer.concat([frameHeader(FrameType.Data, Flag.SYN, 1, payload.length), payload.subarray(0, 10_000)]));
  const stream = await inbound;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  await once(stream, 'data');
  assert.ok(Buffer.concat(chunks).equals(payload.subarray(0, 10_000)));
  raw.write(payload.subarray(10_000));
  while (Buffer.concat(chunks).length < payload.length) await once(stream, 'data');
  assert.ok(Buffer.concat(chunks).equals(payload));
});

test('yamux over TLS: a stream nobody reads yet holds gathered frames in buffers of their own size', async (t) => {
  const [client, server, serverSock] = await yamuxPair(t, 'tls');
  const inbound = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  const out = client.open();
  // Frames of 21000 bytes: each arrives in two TLS reads and is gathered.
  const frames = Array.from({ length: 48 }, () => randomBytes(21_000));
  const total = frames.length * 21_000;
  // The session reads the connection first, so once this many bytes came in, every frame was handled.
  let arrived = 0;
  const allArrived = new Promise<void>((resolve) => {
    serverSock.on('data', (c: Buffer) => {
      arrived += c.length;
      if (arrived >= total + frames.length * 12) resolve();
    });
  });
  for (const f of frames) out.write(f);
  const far = await inbound;
  await allArrived;
  assert.equal(far.readableLength, total);
  const chunks: Buffer[] = [];
  far.on('data', (c: Buffer) => chunks.push(c));
  while (chunks.reduce((n, c) => n + c.length, 0) < total) await once(far, 'data');
  assert.ok(Buffer.concat(chunks).equals(Buffer.concat(frames)));
  for (const c of chunks) assert.ok(c.buffer.byteLength <= 2 * c.length, `a ${c.length}-byte chunk pins ${c.buffer.byteLength} bytes`);
});

test('yamux: a destroyed stream whose reader is not a relay still counts its views as kept', async (t) => {
  // The session asks each stream it handed a view to; a reset may arrive in the same input
  // chunk as the data, after which the reader still holds what it was given.
  const [client, server] = await yamuxPair(t);
  const inbound = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  const out = client.open();
  out.write(randomBytes(64 * 1024));
  const far = await inbound;
  far.on('error', () => {});
  const kept: Buffer[] = [];
  far.on('data', (c: Buffer) => kept.push(c));
  await once(far, 'data');
  assert.equal(far.receivedHold(), 'kept');
  far.destroy();
  assert.equal(far.receivedHold(), 'kept');
  // A relayed stream answers for its destination instead.
  far.setConsumerHolds(() => false);
  assert.equal(far.receivedHold(), 'free');
});

test('yamux: a stream destroyed while waiting for credit no longer claims to hold writes', async (t) => {
  const [client, server] = await yamuxPair(t);
  const inbound = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  const out = client.open();
  out.on('error', () => {});
  // The far end never reads, so the stream runs out of credit with a write pending.
  out.write(randomBytes(8 * 1024 * 1024));
  const far = await inbound;
  while (out.sendWindow > 0) await once(far, 'readable');
  assert.equal(out.holdsWrites(), true);
  out.destroy();
  assert.equal(out.holdsWrites(), false);
});

test('a paused TLS socket reading into reused buffers emits nothing until resumed, and loses nothing', async (t) => {
  const [sender, reader] = await tlsPair(t);
  const chunks: Buffer[] = [];
  let whilePaused = 0;
  reader.on('data', (c: Buffer) => {
    if (reader.isPaused()) whilePaused += 1;
    chunks.push(Buffer.from(c));
    if (chunks.length === 2) reader.pause();
  });
  reuseReads(reader, () => 'kept');
  assert.equal(readsIntoReusedBuffers(reader), reusedReadsEnabled());
  const data = randomBytes(4 * 1024 * 1024);
  // One write: TLS hands several decrypted records to the reader in one go.
  sender.end(data);
  while (chunks.length < 2) await once(reader, 'data');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(whilePaused, 0);
  const ended = once(reader, 'end');
  reader.resume();
  await ended;
  assert.equal(whilePaused, 0);
  assert.ok(Buffer.concat(chunks).equals(data));
});

test('own buffers stay capped when many connections go quiet right after a burst', async (t) => {
  const closed: Promise<unknown>[] = [];
  const ends: Socket[] = [];
  for (let i = 0; i < 100; i++) {
    const [visitor, a] = await relayPair(t);
    const [b, service] = await relayPair(t);
    void relay(a, b);
    closed.push(whenClosed(a), whenClosed(b));
    const got = collect(service);
    visitor.write(randomBytes(1024 * 1024));
    // Wait until the burst went through; the connection then stays open and quiet.
    let seen = 0;
    await new Promise<void>((resolve) => {
      service.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen === 1024 * 1024) resolve();
      });
    });
    void got;
    ends.push(visitor, service);
  }
  assert.ok(ownReadBuffersInUse() <= 64, `${ownReadBuffersInUse()} own buffers in use`);
  for (const s of ends) s.destroy();
  await Promise.all(closed);
  assert.equal(ownReadBuffersInUse(), 0);
});
