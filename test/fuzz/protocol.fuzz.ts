/** Properties of the pure protocol layer: the frp message codec, UDPPacket, snappy framing, the CFB stream. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_MESSAGE_BODY, MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import { CfbDecryptor, CfbEncryptor } from '../../src/protocol/crypto.js';
import {
  MESSAGE_SCHEMA,
  MESSAGE_TYPE_BYTE,
  type FieldKind,
  type Message,
  type MessageType,
  type StructSchema,
  type UDPPacket,
} from '../../src/protocol/messages.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../../src/protocol/snappy-frame.js';
import { UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import { BurrowError, isBurrowError } from '../../src/util/errors.js';
import { bytes, chunked, cuts, mutated, onlyBurrowErrors, target, type FuzzTarget } from './harness.js';

const TYPES = Object.keys(MESSAGE_TYPE_BYTE) as MessageType[];
const TYPE_BYTES = Object.values(MESSAGE_TYPE_BYTE);

const str = fc.string({ unit: 'binary', maxLength: 12 });

function arbitraryOf(kind: FieldKind, depth: number): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'str':
      return str;
    case 'int':
      return fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger());
    case 'u16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'bool':
      return fc.boolean();
    case 'strs':
      return fc.array(str, { maxLength: 3 });
    case 'map':
      return fc.dictionary(str, str, { maxKeys: 3 });
    default:
      if ('list' in kind) return fc.array(structOf(kind.list, depth + 1), { maxLength: 2 });
      return structOf(kind.struct, depth + 1);
  }
}

function structOf(schema: StructSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(Object.entries(schema).map(([k, kind]) => [k, arbitraryOf(kind, depth)]));
  return fc.record(fields, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Any message the schema allows, small enough for the default body limit most of the time. */
const message: fc.Arbitrary<Message> = fc
  .constantFrom(...TYPES)
  .chain((type) => structOf(MESSAGE_SCHEMA[type] as StructSchema, 0).map((body) => ({ type, body }) as Message));

/** Encodes, or undefined when the message is over the body limit (the encoder refuses it with a BurrowError). */
function tryEncode(m: Message): Buffer | undefined {
  const r = onlyBurrowErrors(() => encodeMessage(m));
  if (r instanceof BurrowError) {
    assert.equal(r.code, 'BURROW_FRAME_TOO_LARGE');
    return undefined;
  }
  return r;
}

/** Every message the pieces hold, and the error that stopped the decoder, if any. */
function decodeAll(pieces: Buffer[], maxBodyLength = MAX_MESSAGE_BODY): { messages: Message[]; error?: string } {
  const decoder = new MessageDecoder({ maxBodyLength });
  const messages: Message[] = [];
  for (const piece of pieces) {
    decoder.push(piece);
    for (;;) {
      const r = onlyBurrowErrors(() => decoder.next());
      if (r instanceof BurrowError) return { messages, error: r.code };
      if (r === undefined) break;
      messages.push(r);
    }
  }
  return { messages };
}

/** A frame header with a valid type byte and any declared length, then a little of anything. */
const frameLike: fc.Arbitrary<Buffer> = fc.tuple(fc.constantFrom(...TYPE_BYTES), fc.integer({ min: 0, max: 64 }), bytes(64)).map(([t, len, body]) => {
  const head = Buffer.alloc(9);
  head[0] = t;
  head.writeUInt32BE(len, 5);
  return Buffer.concat([head, body]);
});

const codecInput = fc.oneof(
  bytes(256),
  mutated(message.map((m) => tryEncode(m) ?? Buffer.alloc(0))),
  frameLike,
  fc.array(frameLike, { maxLength: 4 }).map((a) => Buffer.concat(a)),
);

const udpAddress = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 1, max: 65535 }),
  zone: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}$/) }),
});

export const protocolTargets: FuzzTarget[] = [
  target('protocol/codec: garbage raises only BurrowError, the same for any chunking', () =>
    fc.property(codecInput, cuts(), (input, cutPoints) => {
      const whole = decodeAll([input]);
      const pieces = decodeAll(chunked(input, cutPoints));
      assert.deepEqual(pieces, whole);
    }),
  ),
  target('protocol/codec: a declared length over the bound fails on the header, before any body', () =>
    fc.property(
      fc.constantFrom(...TYPE_BYTES),
      fc.integer({ min: 0, max: MAX_MESSAGE_BODY }),
      fc.oneof(
        fc.integer({ min: 1, max: 0xffffffff }).map((extra) => [0, extra] as const),
        fc.integer({ min: 1, max: 0x7fffffff }).map((high) => [high, 0] as const),
      ),
      (typeByte, max, [high, extra]) => {
        const head = Buffer.alloc(9);
        head[0] = typeByte;
        head.writeUInt32BE(high, 1);
        head.writeUInt32BE(Math.min(0xffffffff, max + extra), 5);
        const decoder = new MessageDecoder({ maxBodyLength: max });
        for (let i = 0; i < 8; i++) {
          decoder.push(head.subarray(i, i + 1));
          assert.equal(decoder.next(), undefined);
        }
        decoder.push(head.subarray(8));
        assert.throws(
          () => decoder.next(),
          (err: unknown) => isBurrowError(err, 'BURROW_FRAME_TOO_LARGE'),
        );
      },
    ),
  ),
  target('protocol/codec: every message round-trips to the same bytes, in any chunking', () =>
    fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), cuts(), (messages, cutPoints) => {
      const frames = messages.map(tryEncode).filter((f): f is Buffer => f !== undefined);
      const { messages: decoded, error } = decodeAll(chunked(Buffer.concat(frames), cutPoints));
      assert.equal(error, undefined);
      assert.deepEqual(
        decoded.map((m) => encodeMessage(m)),
        frames,
      );
    }),
  ),
  target('protocol/udp-packet: any decoded UDPPacket raises only BurrowError', () =>
    fc.property(
      fc.record(
        {
          c: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })),
          r: fc.record(
            {
              IP: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })),
              Port: fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.maxSafeInteger()),
              Zone: fc.string({ maxLength: 4 }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
      (msg) => {
        const r = onlyBurrowErrors(() => decodeUdpPacket(msg as UDPPacket));
        if (!(r instanceof BurrowError)) assert.ok(r.addr.port >= 1 && r.addr.port <= 65535);
      },
    ),
  ),
  target('protocol/udp-packet: datagrams round-trip through the frame with their address', () =>
    fc.property(
      fc.oneof(
        bytes(512),
        fc.integer({ min: 60_000, max: 65535 }).map((n) => Buffer.alloc(n, 7)),
      ),
      udpAddress,
      cuts(),
      (payload, addr, cutPoints) => {
        const frame = encodeUdpPacket(payload, addr);
        const { messages, error } = decodeAll(chunked(frame, cutPoints), UDP_STREAM_MAX_BODY);
        assert.equal(error, undefined);
        assert.equal(messages.length, 1);
        const back = decodeUdpPacket(messages[0]!.body as UDPPacket);
        assert.ok(back.payload.equals(payload));
        assert.deepEqual(back.addr, { ...addr });
      },
    ),
  ),
  target('protocol/snappy: garbage and corrupted streams raise only BurrowError, the same for any chunking', () => {
    const valid = fc.array(bytes(300), { maxLength: 3 }).map((writes) => {
      const enc = new SnappyFrameEncoder();
      return Buffer.concat(writes.map((w) => enc.encode(w)));
    });
    const header = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
    return fc.property(
      fc.oneof(
        bytes(300),
        mutated(valid),
        bytes(64).map((b) => Buffer.concat([header, b])),
      ),
      cuts(),
      (input, cutPoints) => {
        const run = (pieces: Buffer[]): { out: Buffer; error?: string } => {
          const dec = new SnappyFrameDecoder();
          const out: Buffer[] = [];
          for (const p of pieces) {
            const r = onlyBurrowErrors(() => dec.decode(p));
            if (r instanceof BurrowError) return { out: Buffer.concat(out), error: r.code };
            out.push(Buffer.from(r));
          }
          return { out: Buffer.concat(out) };
        };
        const whole = run([input]);
        const pieces = run(chunked(input, cutPoints));
        assert.equal(pieces.error, whole.error);
        // A decode() that fails drops what it completed in the same call: the stream is dead
        // either way, so smaller pieces may deliver a little more before the error, never other bytes.
        if (whole.error === undefined) assert.ok(pieces.out.equals(whole.out));
        else assert.ok(pieces.out.subarray(0, whole.out.length).equals(whole.out));
      },
    );
  }),
  target('protocol/snappy: a declared chunk length over the bound fails on its 4-byte header', () =>
    fc.property(fc.integer({ min: 1, max: 65536 }), fc.constantFrom(0x00, 0x01), fc.integer({ min: 0, max: 0xffffff }), (maxChunk, type, length) => {
      const limit = type === 0x01 ? maxChunk + 4 : 4 + 32 + maxChunk + Math.floor(maxChunk / 6);
      fc.pre(length > limit || length < 4);
      const dec = new SnappyFrameDecoder({ maxChunk });
      dec.decode(Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]));
      const head = Buffer.from([type, length & 0xff, (length >> 8) & 0xff, length >> 16]);
      assert.throws(
        () => dec.decode(head),
        (err: unknown) => isBurrowError(err, 'BURROW_COMPRESSION'),
      );
    }),
  ),
  target('protocol/snappy: writes round-trip in any chunking', () =>
    fc.property(
      fc.array(
        fc.oneof(
          bytes(200),
          fc.integer({ min: 1, max: 70_000 }).map((n) => Buffer.alloc(n, n & 0xff)),
        ),
        { maxLength: 4 },
      ),
      cuts(),
      (writes, cutPoints) => {
        const enc = new SnappyFrameEncoder();
        const stream = Buffer.concat(writes.map((w) => enc.encode(w)));
        const dec = new SnappyFrameDecoder();
        const out = Buffer.concat(chunked(stream, cutPoints).map((p) => Buffer.from(dec.decode(p))));
        assert.ok(out.equals(Buffer.concat(writes)));
      },
    ),
  ),
  target('protocol/crypto: the CFB stream round-trips in any chunking; any bytes decrypt without throwing', () =>
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(bytes(100), { maxLength: 5 }),
      cuts(),
      bytes(100),
      (key, writes, cutPoints, garbage) => {
        const k = Buffer.from(key);
        const enc = new CfbEncryptor(k);
        const wire = Buffer.concat(writes.map((w) => enc.update(w)));
        const dec = new CfbDecryptor(k);
        const plain = Buffer.concat(chunked(wire, cutPoints).map((p) => dec.update(p)));
        assert.ok(plain.equals(Buffer.concat(writes)));
        const other = new CfbDecryptor(k);
        const out = Buffer.concat(chunked(garbage, cutPoints).map((p) => other.update(p)));
        assert.equal(out.length, Math.max(0, garbage.length - 16));
      },
    ),
  ),
];
