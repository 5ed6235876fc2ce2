/** Properties of the yamux layer: the 12-byte header, the streaming frame reader, and a session fed hostile frames. */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { FrameReader } from '../../src/mux/frame-reader.js';
import { FrameType, HEADER_SIZE, decodeHeader, encodeHeader, frameHeader } from '../../src/mux/header.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { BurrowError } from '../../src/util/errors.js';
import { bytes, chunked, cuts, onlyBurrowErrors, target, type FuzzTarget } from './harness.js';

type Event = readonly [string, ...number[]] | readonly ['payload', string];

/** What a FrameReader reports for `pieces`, payload pieces joined per frame, and the error code that stopped it. */
function readFrames(pieces: Buffer[]): { events: Event[]; error?: string } {
  const events: Event[] = [];
  let payload: Buffer[] = [];
  const reader = new FrameReader({
    onFrame: (type, flags, id, length) => void events.push(['frame', type, flags, id, length]),
    onPayload: (piece) => void payload.push(Buffer.from(piece)),
    onPayloadEnd: () => {
      events.push(['payload', Buffer.concat(payload).toString('hex')]);
      payload = [];
    },
  });
  for (const p of pieces) {
    const r = onlyBurrowErrors(() => reader.write(p));
    if (r instanceof BurrowError) return { events, error: r.code };
  }
  return { events };
}

/** One frame as a peer might send it: mostly well-formed, with every field sometimes out of range. */
const frame: fc.Arbitrary<Buffer> = fc
  .record({
    version: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    type: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    flags: fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 5, 3), fc.integer({ min: 0, max: 0xffff })),
    id: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff })),
    length: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff })),
    payload: bytes(40),
    exact: fc.boolean(),
  })
  .map((f) => {
    const head = Buffer.alloc(HEADER_SIZE);
    head[0] = f.version;
    head[1] = f.type;
    head.writeUInt16BE(f.flags, 2);
    head.writeUInt32BE(f.id, 4);
    const length = f.type === FrameType.Data && f.exact ? f.payload.length : f.length;
    head.writeUInt32BE(length, 8);
    return f.type === FrameType.Data ? Buffer.concat([head, f.exact ? f.payload : f.payload.subarray(0, Math.min(length, f.payload.length))]) : head;
  });

const frames = fc.oneof({ weight: 4, arbitrary: fc.array(frame, { maxLength: 12 }).map((a) => Buffer.concat(a)) }, { weight: 1, arbitrary: bytes(200) });

/** An in-memory connection: the fuzz feeds what the session reads, and keeps what it writes. */
class MemoryConn extends Duplex {
  readonly written: Buffer[] = [];
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    done();
  }
}

const MAX_STREAMS = 4;
const WINDOW = 256 * 1024;

export const muxTargets: FuzzTarget[] = [
  target('mux/header: decodeHeader raises only BurrowError; valid fields round-trip', () =>
    fc.property(
      bytes(20),
      fc.integer({ min: -2, max: 24 }),
      fc.record({
        type: fc.integer({ min: 0, max: 3 }),
        flags: fc.integer({ min: 0, max: 0xffff }),
        streamId: fc.integer({ min: 0, max: 0xffffffff }),
        length: fc.integer({ min: 0, max: 0xffffffff }),
      }),
      fc.record({
        version: fc.integer({ min: -1, max: 256 }),
        type: fc.integer({ min: -1, max: 256 }),
        flags: fc.double(),
        streamId: fc.integer(),
        length: fc.double(),
      }),
      (raw, offset, valid, wild) => {
        onlyBurrowErrors(() => decodeHeader(raw, offset));
        onlyBurrowErrors(() => encodeHeader(wild as never));
        const h = { version: 0, ...valid } as Parameters<typeof encodeHeader>[0];
        assert.deepEqual(decodeHeader(encodeHeader(h)), h);
        assert.ok(frameHeader(h.type, h.flags, h.streamId, h.length).equals(encodeHeader(h)));
      },
    ),
  ),
  target('mux/frame-reader: garbage raises only BurrowError; frames and payloads are the same for any chunking', () =>
    fc.property(frames, cuts(), (input, cutPoints) => {
      const whole = readFrames([input]);
      const pieces = readFrames(chunked(input, cutPoints));
      // A payload cut short by the end of input is reported in pieces, so compare the frames and the joined payloads.
      assert.deepEqual(pieces, whole);
    }),
  ),
  target(
    'mux/session: hostile frames end the session with a BurrowError at most, within its stream and window bounds',
    () =>
      fc.asyncProperty(frames, cuts(), fc.boolean(), async (input, cutPoints, consume) => {
        const conn = new MemoryConn();
        const session = new YamuxSession(conn, { client: false, keepaliveIntervalMs: 0, maxStreams: MAX_STREAMS, acceptBacklog: 2, maxStreamWindow: WINDOW });
        let closeReason: unknown = 'open';
        session.once('close', (err: unknown) => (closeReason = err));
        const streams: YamuxStream[] = [];
        session.on('stream', (s: YamuxStream) => {
          streams.push(s);
          s.on('error', () => {});
          if (consume) s.resume();
        });
        for (const piece of chunked(input, cutPoints)) {
          if (piece.length > 0) conn.push(piece); // a throw here would reach the socket's 'data' handler: a crash
          assert.ok(session.streamCount <= MAX_STREAMS, `${session.streamCount} streams`);
        }
        await new Promise((r) => setImmediate(r));
        for (const s of streams) assert.ok(s.readableLength <= WINDOW, `stream holds ${s.readableLength} bytes`);
        // Whatever the session answered is itself valid yamux.
        assert.equal(readFrames(conn.written).error, undefined);
        session.destroy();
        conn.destroy();
        await new Promise((r) => setImmediate(r));
        assert.ok(closeReason === undefined || closeReason instanceof BurrowError, `closed with ${String(closeReason)}`);
      }),
    2,
  ),
];
