import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { collect, socketPair } from '../helpers/streams.js';
import { Duplex } from 'node:stream';
import { isBurrowError, type BurrowErrorCode } from '../../src/util/errors.js';
import { FrameReader } from '../../src/mux/frame-reader.js';
import { Flag, FrameType, GoAwayCode, decodeHeader, frameHeader } from '../../src/mux/header.js';
import { YamuxSession, type YamuxOptions } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';

const MAX_WINDOW = 6 * 1024 * 1024;
const FRP_DELTA = MAX_WINDOW - 256 * 1024;

// ---- helpers ----------------------------------------------------------------

interface Frame {
  type: FrameType;
  flags: number;
  id: number;
  length: number;
  payload: Buffer;
}

/** Parses a byte stream into frames and lets a test wait for one. */
class FrameLog {
  readonly frames: Frame[] = [];
  private readonly reader: FrameReader;
  private parts: Buffer[] = [];
  private pending: Frame | null = null;
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];

  constructor() {
    this.reader = new FrameReader({
      onFrame: (type, flags, id, length) => {
        this.parts = [];
        if (type === FrameType.Data && length > 0) this.pending = { type, flags, id, length, payload: Buffer.alloc(0) };
        else this.add({ type, flags, id, length, payload: Buffer.alloc(0) });
      },
      onPayload: (piece) => this.parts.push(Buffer.from(piece)),
      onPayloadEnd: () => this.add({ ...this.pending!, payload: Buffer.concat(this.parts) }),
    });
  }

  write(chunk: Buffer): void {
    this.reader.write(chunk);
  }

  waitFor(match: (f: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private add(f: Frame): void {
    this.frames.push(f);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(f)) return true;
      w.resolve(f);
      return false;
    });
  }
}

/** An in-memory connection: the test feeds what the session reads and sees what it writes. */
class MemoryConn extends Duplex {
  readonly out = new FrameLog();
  readonly written: Buffer[] = [];
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    this.out.write(chunk);
    done();
  }
  feed(bytes: Buffer): void {
    this.push(bytes);
  }
}

async function muxPair(t: TestContext, opts: Partial<YamuxOptions> = {}) {
  const [clientSock, serverSock] = await socketPair(t);
  const client = new YamuxSession(clientSock, { keepaliveIntervalMs: 0, ...opts, client: true });
  const server = new YamuxSession(serverSock, { keepaliveIntervalMs: 0, ...opts, client: false });
  t.after(() => {
    client.destroy();
    server.destroy();
  });
  return { client, server, clientSock, serverSock };
}

/** A server session facing a hand-written peer on a real socket. */
async function rawPeer(t: TestContext, opts: Partial<YamuxOptions> = {}) {
  const [peer, serverSock] = await socketPair(t);
  const server = new YamuxSession(serverSock, { keepaliveIntervalMs: 0, ...opts, client: false });
  t.after(() => server.destroy());
  const log = new FrameLog();
  peer.on('data', (c: Buffer) => log.write(c));
  peer.on('error', () => {});
  return { server, peer, log };
}

function nextStream(session: YamuxSession): Promise<YamuxStream> {
  return (once(session, 'stream') as Promise<[YamuxStream]>).then(([s]) => s);
}

function hasCode(code: BurrowErrorCode): (err: unknown) => boolean {
  return (err) => isBurrowError(err, code);
}

/** The error a stream is destroyed with. */
async function failure(s: Duplex): Promise<unknown> {
  const [err] = (await once(s, 'error')) as [unknown];
  return err;
}

async function closeReason(session: YamuxSession): Promise<Error | undefined> {
  const [err] = (await once(session, 'close')) as [Error | undefined];
  return err;
}

const hdr = frameHeader;

// ---- wire format ------------------------------------------------------------

test('open() sends the frp stream-open vector and the acceptor answers ACK with the same delta', async () => {
  const clientConn = new MemoryConn();
  const client = new YamuxSession(clientConn, { client: true, keepaliveIntervalMs: 0 });
  const stream = client.open();
  assert.equal(stream.id, 1);
  assert.equal(clientConn.written[0].toString('hex'), '0001000100000001005c0000');
  assert.equal(client.open().id, 3);

  const serverConn = new MemoryConn();
  const server = new YamuxSession(serverConn, { client: false, keepaliveIntervalMs: 0 });
  const inbound = nextStream(server);
  serverConn.feed(Buffer.from('0001000100000001005c0000', 'hex'));
  assert.equal((await inbound).id, 1);
  assert.equal(serverConn.written[0].toString('hex'), '0001000200000001005c0000');
  assert.equal((await inbound).sendWindow, 256 * 1024 + FRP_DELTA);
  client.destroy();
  server.destroy();
});

test('frames split at random byte boundaries give the same streams and the same replies', async () => {
  const p1 = [randomBytes(1), randomBytes(100_000), randomBytes(7), randomBytes(3), randomBytes(20_000)];
  const p3 = [randomBytes(50_000), randomBytes(1), randomBytes(9000)];
  const parts: Buffer[] = [hdr(FrameType.WindowUpdate, Flag.SYN, 1, FRP_DELTA)];
  parts.push(hdr(FrameType.Data, Flag.SYN, 3, p3[0].length), p3[0]);
  for (let i = 0; i < p1.length; i++) {
    parts.push(hdr(FrameType.Data, 0, 1, p1[i].length), p1[i]);
    parts.push(hdr(FrameType.Ping, Flag.SYN, 0, 100 + i));
    if (i + 1 < p3.length) parts.push(hdr(FrameType.Data, 0, 3, p3[i + 1].length), p3[i + 1]);
  }
  parts.push(hdr(FrameType.WindowUpdate, Flag.FIN, 1, 0));
  const tail = randomBytes(5);
  parts.push(hdr(FrameType.Data, Flag.FIN, 3, tail.length), tail);
  const input = Buffer.concat(parts);
  const want = { 1: Buffer.concat(p1), 3: Buffer.concat([...p3, tail]) };

  async function run(cuts: number[]): Promise<string> {
    const conn = new MemoryConn();
    const session = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0 });
    const results: Array<Promise<[number, Buffer]>> = [];
    session.on('stream', (s: YamuxStream) => results.push(collect(s).then((b) => [s.id, b])));
    let at = 0;
    for (const cut of [...cuts, input.length]) {
      conn.feed(input.subarray(at, cut));
      at = cut;
    }
    await conn.out.waitFor((f) => f.type === FrameType.Ping && f.length === 104);
    const got = new Map(await Promise.all(results));
    assert.deepEqual([...got.keys()].sort(), [1, 3]);
    assert.ok(got.get(1)!.equals(want[1]), 'stream 1 bytes');
    assert.ok(got.get(3)!.equals(want[3]), 'stream 3 bytes');
    session.destroy();
    return Buffer.concat(conn.written).toString('hex');
  }

  const reference = await run([]);
  let seed = 99;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 30; round++) {
    const cuts = new Set<number>();
    const count = 1 + rand(round < 10 ? 20 : 400);
    for (let i = 0; i < count; i++) cuts.add(1 + rand(input.length - 1));
    assert.equal(await run([...cuts].sort((a, b) => a - b)), reference);
  }
});

// ---- data over a real TCP connection ---------------------------------------

test('8 MiB each way on one stream arrive byte-exact', async (t) => {
  const { client, server } = await muxPair(t);
  const up = randomBytes(8 * 1024 * 1024);
  const down = randomBytes(8 * 1024 * 1024);
  const inbound = nextStream(server);
  const out = client.open();
  const s = await inbound;
  const gotDown = collect(out);
  const gotUp = collect(s);
  for (let i = 0; i < up.length; i += 100_000) out.write(up.subarray(i, i + 100_000));
  out.end();
  s.end(down);
  assert.ok((await gotUp).equals(up));
  assert.ok((await gotDown).equals(down));
});

test('100 parallel streams echo byte-exact', async (t) => {
  const { client, server } = await muxPair(t);
  server.on('stream', (s: YamuxStream) => s.pipe(s));
  const jobs = Array.from({ length: 100 }, async (_, i) => {
    const data = randomBytes(20_000 + i * 1000);
    const s = client.open();
    const back = collect(s);
    for (let off = 0; off < data.length; off += 16_384) s.write(data.subarray(off, off + 16_384));
    s.end();
    assert.ok((await back).equals(data), `stream ${s.id}`);
  });
  await Promise.all(jobs);
  assert.equal(client.streamCount, 0, 'finished streams leave the session');
  assert.equal(server.streamCount, 0);
});

test('a reader that stops holds the writer at about one window', async (t) => {
  const { client, server, serverSock } = await muxPair(t);
  const inbound = nextStream(server);
  const out = client.open();
  const s = await inbound;
  // Runs after the session's own listener, so it sees what the session buffered.
  const windowFull = new Promise<void>((resolve) => {
    serverSock.on('data', () => {
      if (s.readableLength >= MAX_WINDOW) resolve();
    });
  });

  const total = 10 * 1024 * 1024;
  const data = randomBytes(total);
  const chunk = 64 * 1024;
  let accepted = 0;
  let sawFalse = false;
  const writer = (async () => {
    while (accepted < total) {
      const ok = out.write(data.subarray(accepted, accepted + chunk));
      accepted += chunk;
      if (!ok) {
        sawFalse = true;
        await once(out, 'drain');
      }
    }
    out.end();
  })();

  await windowFull;
  assert.equal(s.readableLength, MAX_WINDOW, 'receiver buffers exactly one window');
  assert.equal(s.receiveWindow, 0);
  assert.equal(out.sendWindow, 0);
  assert.ok(sawFalse, 'write() returned false');
  assert.equal(out.writableLength, accepted - MAX_WINDOW, 'everything beyond the window waits in the writer');
  assert.ok(accepted <= MAX_WINDOW + out.writableHighWaterMark + chunk, `writer accepted ${accepted} bytes`);

  const received = await collect(s);
  await writer;
  assert.ok(received.equals(data));
});

test('half-close: the side that ended still receives, then both sides close', async (t) => {
  const { client, server } = await muxPair(t);
  const inbound = nextStream(server);
  const out = client.open();
  const outClosed = once(out, 'close');
  out.end('hello');
  const s = await inbound;
  const sClosed = once(s, 'close');
  assert.equal((await collect(s)).toString(), 'hello');
  const back = collect(out);
  s.write('wor');
  s.end('ld');
  assert.equal((await back).toString(), 'world');
  await Promise.all([outClosed, sClosed]);
  assert.equal(client.streamCount, 0);
  assert.equal(server.streamCount, 0);
});

test('destroy() resets the stream: the peer stream fails with BURROW_MUX_STREAM_RESET', async (t) => {
  const { client, server } = await muxPair(t);
  const inbound = nextStream(server);
  const out = client.open();
  out.write('x');
  const s = await inbound;
  const failed = failure(s);
  const closed = new Promise((resolve) => s.once('close', resolve));
  out.destroy();
  assert.ok(hasCode('BURROW_MUX_STREAM_RESET')(await failed));
  assert.equal(client.streamCount, 0);
  await closed;
  assert.equal(server.streamCount, 0);
});

test('the connection going away destroys every stream on both sides', async (t) => {
  const { client, server, clientSock } = await muxPair(t);
  const inbound = nextStream(server);
  const out = client.open();
  out.write('x');
  const s = await inbound;
  const outFailed = failure(out);
  const sFailed = failure(s);
  const closes = [once(client, 'close'), once(server, 'close')];
  clientSock.end();
  assert.ok(hasCode('BURROW_CLOSED')(await sFailed));
  assert.ok(hasCode('BURROW_CLOSED')(await outFailed));
  await Promise.all(closes);
  assert.ok(client.closed && server.closed);
  assert.throws(() => client.open(), hasCode('BURROW_CLOSED'));
});

test('ping: round trip resolves, and a peer ping is answered with the same id', async (t) => {
  const { client } = await muxPair(t);
  const rtt = await client.ping();
  assert.ok(Number.isFinite(rtt) && rtt >= 0);

  const { peer, log } = await rawPeer(t);
  peer.write(hdr(FrameType.Ping, Flag.SYN, 0, 0xdeadbeef));
  const pong = await log.waitFor((f) => f.type === FrameType.Ping);
  assert.equal(pong.flags, Flag.ACK);
  assert.equal(pong.length, 0xdeadbeef);
});

test('an unanswered keepalive ping ends the session with BURROW_TIMEOUT', async (t) => {
  // A memory connection holds no handle open, and the keepalive timer is unref'd.
  const hold = setInterval(() => {}, 1000);
  t.after(() => clearInterval(hold));
  const conn = new MemoryConn();
  const session = new YamuxSession(conn, { client: true, keepaliveIntervalMs: 5, keepaliveTimeoutMs: 30 });
  const stream = session.open();
  const failed = failure(stream);
  assert.ok(hasCode('BURROW_TIMEOUT')(await closeReason(session)));
  assert.ok(hasCode('BURROW_TIMEOUT')(await failed));
  assert.ok(conn.out.frames.some((f) => f.type === FrameType.Ping && f.flags === Flag.SYN));
});

// ---- GoAway, backlog, limits ------------------------------------------------

test('GoAway: no new streams either way, the open stream finishes, then the connection ends', async (t) => {
  const { client, server } = await muxPair(t);
  const inbound = nextStream(server);
  const out = client.open();
  out.write('a');
  const s = await inbound;
  const goaway = once(client, 'goaway');
  const reasons = [closeReason(server), closeReason(client)];
  server.close();
  await goaway;
  assert.throws(() => client.open(), hasCode('BURROW_MUX_GO_AWAY'));
  assert.throws(() => server.open(), hasCode('BURROW_CLOSED'));
  const up = collect(s);
  const down = collect(out);
  out.end('bc');
  assert.equal((await up).toString(), 'abc');
  s.end('ok');
  assert.equal((await down).toString(), 'ok');
  assert.deepEqual(await Promise.all(reasons), [undefined, undefined]);
});

test('after close() an inbound SYN is reset while the existing stream keeps working', async (t) => {
  const { server, peer, log } = await rawPeer(t);
  const inbound = nextStream(server);
  peer.write(hdr(FrameType.WindowUpdate, Flag.SYN, 1, FRP_DELTA));
  const s = await inbound;
  server.close();
  const goAway = await log.waitFor((f) => f.type === FrameType.GoAway);
  assert.equal(goAway.length, GoAwayCode.Normal);
  peer.write(hdr(FrameType.WindowUpdate, Flag.SYN, 3, FRP_DELTA));
  const rst = await log.waitFor((f) => f.id === 3);
  assert.equal(rst.flags, Flag.RST);
  const got = collect(s);
  peer.write(Buffer.concat([hdr(FrameType.Data, Flag.FIN, 1, 2), Buffer.from('hi')]));
  assert.equal((await got).toString(), 'hi');
  s.end();
  const fin = await log.waitFor((f) => f.id === 1 && (f.flags & Flag.FIN) !== 0);
  assert.equal(fin.type, FrameType.WindowUpdate);
  await once(peer, 'end');
});

test('inbound streams wait in the backlog for a listener; beyond it they are reset', async (t) => {
  const { client, server } = await muxPair(t, { acceptBacklog: 2 });
  const streams = [client.open(), client.open(), client.open()];
  for (const s of streams) s.write(`to ${s.id}`);
  assert.ok(hasCode('BURROW_MUX_STREAM_RESET')(await failure(streams[2])));
  const got: string[] = [];
  const two = new Promise<void>((resolve) => {
    server.on('stream', (s: YamuxStream) => {
      s.once('data', (b: Buffer) => {
        got.push(`${s.id}:${b.toString()}`);
        if (got.length === 2) resolve();
      });
    });
  });
  await two;
  assert.deepEqual(got, ['1:to 1', '3:to 3']);
});

test('maxStreams: one stream too many is reset by the acceptor and refused by open()', async (t) => {
  const { client, server } = await muxPair(t, { maxStreams: 1 });
  server.on('stream', (s: YamuxStream) => s.on('error', () => {}));
  const first = client.open();
  assert.throws(() => client.open(), hasCode('BURROW_MUX_STREAM_LIMIT'));
  first.destroy();
  const raw = await rawPeer(t, { maxStreams: 1 });
  raw.server.on('stream', () => {});
  const { peer, log } = raw;
  peer.write(Buffer.concat([hdr(FrameType.WindowUpdate, Flag.SYN, 1, 0), hdr(FrameType.WindowUpdate, Flag.SYN, 3, 0)]));
  assert.equal((await log.waitFor((f) => f.id === 3)).flags, Flag.RST);
  assert.equal((await log.waitFor((f) => f.id === 1)).flags, Flag.ACK);
});

// ---- protocol violations ----------------------------------------------------

test('a peer exceeding the receive window gets GoAway(protocol error); the session ends with the code', async (t) => {
  const { server, peer, log } = await rawPeer(t);
  server.on('stream', () => {}); // accepted, never read: no credit is returned
  const reason = closeReason(server);
  peer.write(hdr(FrameType.WindowUpdate, Flag.SYN, 1, 0));
  peer.write(Buffer.concat([hdr(FrameType.Data, 0, 1, 4 * 1024 * 1024), Buffer.alloc(4 * 1024 * 1024)]));
  peer.write(hdr(FrameType.Data, 0, 1, 3 * 1024 * 1024));
  const r = await reason;
  assert.ok(hasCode('BURROW_MUX_WINDOW_EXCEEDED')(r));
  const goAway = await log.waitFor((f) => f.type === FrameType.GoAway);
  assert.equal(goAway.length, GoAwayCode.ProtocolError);
  await once(peer, 'end');
});

test('malformed input destroys the session with a coded error and never throws', async () => {
  const open1 = hdr(FrameType.WindowUpdate, Flag.SYN, 1, 0);
  // [what, bytes, error code, GoAway code we answer with (none for bytes that are not yamux at all)]
  const cases: Array<[string, Buffer, BurrowErrorCode, number | undefined]> = [
    ['bad version', Buffer.from('010000000000000000000000', 'hex'), 'BURROW_MUX_PROTOCOL', undefined],
    ['unknown type', Buffer.from('000700000000000000000000', 'hex'), 'BURROW_MUX_PROTOCOL', undefined],
    ['SYN reusing a live id', Buffer.concat([open1, open1]), 'BURROW_MUX_PROTOCOL', GoAwayCode.ProtocolError],
    ['SYN with an id of the wrong side', hdr(FrameType.WindowUpdate, Flag.SYN, 2, 0), 'BURROW_MUX_PROTOCOL', GoAwayCode.ProtocolError],
    ['frame longer than any window', hdr(FrameType.Data, 0, 9, MAX_WINDOW + 1), 'BURROW_MUX_WINDOW_EXCEEDED', GoAwayCode.ProtocolError],
    ['data over the initial window', Buffer.concat([open1, hdr(FrameType.Data, 0, 1, 256 * 1024 + 1)]), 'BURROW_MUX_WINDOW_EXCEEDED', GoAwayCode.ProtocolError],
    ['GoAway with an error code', hdr(FrameType.GoAway, 0, 0, GoAwayCode.InternalError), 'BURROW_MUX_GO_AWAY', undefined],
  ];
  for (const [name, bytes, code, goAwayCode] of cases) {
    const conn = new MemoryConn();
    const session = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0 });
    // No 'stream' listener: a new stream waits in the backlog unannounced, its window still 256 KiB.
    const reason = closeReason(session);
    conn.feed(bytes);
    assert.ok(hasCode(code)(await reason), `${name}: ${String(await reason)}`);
    assert.equal(conn.out.frames.find((f) => f.type === FrameType.GoAway)?.length, goAwayCode, name);
    assert.ok(conn.destroyed || conn.writableEnded, `${name}: connection released`);
  }
});

test('a peer that makes us answer but never reads is dropped instead of buffered without bound', async () => {
  // A connection whose writes never complete: like a peer that stopped reading.
  const conn = new (class extends MemoryConn {
    override _write(): void {}
  })();
  const session = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0 });
  const reason = closeReason(session);
  const ping = hdr(FrameType.Ping, Flag.SYN, 0, 1);
  const burst = Buffer.concat(Array.from({ length: 64 * 1024 }, () => ping));
  for (let i = 0; i < 64 && !session.closed; i++) {
    conn.feed(burst);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(hasCode('BURROW_MUX_PROTOCOL')(await reason));
  assert.ok(conn.writableLength < 20 * 1024 * 1024, `${conn.writableLength} bytes were queued`);
});

test('data for an unknown stream is dropped without harm', async () => {
  const conn = new MemoryConn();
  const session = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0 });
  const inbound = nextStream(session);
  conn.feed(Buffer.concat([hdr(FrameType.Data, 0, 41, 3), Buffer.from('zzz'), hdr(FrameType.Data, Flag.SYN | Flag.FIN, 43, 2), Buffer.from('ok')]));
  const s = await inbound;
  assert.equal(s.id, 43);
  assert.equal((await collect(s)).toString(), 'ok');
  assert.equal(session.closed, false);
  let closes = 0;
  session.on('close', () => closes++);
  const reason = closeReason(session);
  session.destroy();
  session.destroy();
  assert.equal(await reason, undefined);
  session.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closes, 1, "'close' is emitted once");
});

// ---- a recorded frp 0.70.0 session -------------------------------------------

interface Recording {
  connections: Array<{ chunks: Array<{ dir: 'c2s' | 's2c'; hex: string }> }>;
}

test('decodes the yamux traffic of a recorded frpc/frps 0.70.0 session, both directions', async () => {
  const rec = JSON.parse(readFileSync(new URL('../fixtures/frp-0.70.0/tcp-yamux.json', import.meta.url), 'utf8')) as Recording;
  const chunks = (dir: string) => rec.connections[0].chunks.filter((c) => c.dir === dir).map((c) => Buffer.from(c.hex, 'hex'));
  const c2s = chunks('c2s');
  const s2c = chunks('s2c');
  assert.deepEqual(decodeHeader(Buffer.concat(c2s)), { version: 0, type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: 1, length: FRP_DELTA });

  /** The first chunk a stream delivers and, for streams the peer finished, all of it. */
  const watch = (s: YamuxStream) => ({ first: once(s, 'data').then(([b]) => b as Buffer), all: collect(s) });

  // frpc -> our server session, chunk by chunk as recorded.
  const conn = new MemoryConn();
  const server = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0 });
  const inbound = new Map<number, ReturnType<typeof watch>>();
  const fourStreams = new Promise<void>((resolve) => {
    server.on('stream', (s: YamuxStream) => {
      inbound.set(s.id, watch(s));
      if (inbound.size === 4) resolve();
    });
  });
  for (const c of c2s) conn.feed(c);
  await fourStreams;
  assert.deepEqual([...inbound.keys()], [1, 3, 5, 7]);
  const login = await inbound.get(1)!.first;
  assert.equal(login[0], 0x6f, 'Login type byte');
  const body = JSON.parse(login.subarray(9, 9 + Number(login.readBigInt64BE(1))).toString()) as { version: string };
  assert.equal(body.version, '0.70.0');
  for (const id of [3, 5, 7]) assert.equal((await inbound.get(id)!.first)[0], 0x77, `NewWorkConn on stream ${id}`);
  for (const id of [3, 5]) assert.ok((await inbound.get(id)!.all).length > 64, `stream ${id} carried the echo payload`);
  assert.equal(server.closed, false);
  assert.equal(conn.written[0].toString('hex'), s2c[0].subarray(0, 12).toString('hex'), 'our ACK equals the one frps sent');

  // frps -> our client session that opened the same four streams.
  const cconn = new MemoryConn();
  const client = new YamuxSession(cconn, { client: true, keepaliveIntervalMs: 0 });
  const opened = [client.open(), client.open(), client.open(), client.open()].map(watch);
  assert.deepEqual(
    cconn.written.map((b) => b.toString('hex')),
    [1, 3, 5, 7].map((id) => hdr(FrameType.WindowUpdate, Flag.SYN, id, FRP_DELTA).toString('hex')),
  );
  for (const c of s2c) cconn.feed(c);
  assert.equal((await opened[0].first)[0], 0x31, 'LoginResp type byte');
  assert.equal((await opened[1].first)[0], 0x73, 'StartWorkConn type byte');
  assert.equal((await opened[2].first)[0], 0x73, 'StartWorkConn type byte');
  assert.ok((await opened[1].all).length > 64);
  assert.ok((await opened[2].all).length > 64);
  assert.equal(client.closed, false);
  server.destroy();
  client.destroy();
});
