import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBurrowError } from '../../src/util/errors.js';
import { FrameReader, type FrameSink } from '../../src/mux/frame-reader.js';
import { Flag, FrameType, YAMUX_VERSION, decodeHeader, encodeHeader, type FrameHeader } from '../../src/mux/header.js';

test('stream open of frp (client stream 1, window delta 6029312) matches the test vector', () => {
  const bytes = encodeHeader({ version: YAMUX_VERSION, type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: 1, length: 6291456 - 262144 });
  assert.equal(bytes.toString('hex'), '0001000100000001005c0000');
  assert.deepEqual(decodeHeader(Buffer.from('0001000100000001005c0000', 'hex')), {
    version: 0,
    type: FrameType.WindowUpdate,
    flags: Flag.SYN,
    streamId: 1,
    length: 6029312,
  });
});

test('encode/decode round trip over every type, flag combination and extreme values', () => {
  const cases: FrameHeader[] = [];
  for (const type of [FrameType.Data, FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway]) {
    for (let flags = 0; flags <= 15; flags++) {
      cases.push({ version: 0, type, flags, streamId: 0xffffffff, length: 0 });
      cases.push({ version: 0, type, flags, streamId: 7, length: 0xffffffff });
    }
  }
  for (const h of cases) {
    const enc = encodeHeader(h);
    assert.equal(enc.length, 12);
    assert.deepEqual(decodeHeader(enc), h);
  }
});

test('encode into a caller buffer at an offset returns a 12-byte view of it', () => {
  const out = Buffer.alloc(20, 0xee);
  const view = encodeHeader({ version: 0, type: FrameType.Ping, flags: Flag.ACK, streamId: 0, length: 42 }, out, 4);
  assert.equal(view.length, 12);
  assert.equal(view.buffer, out.buffer);
  assert.equal(out.subarray(0, 4).toString('hex'), 'eeeeeeee');
  assert.equal(out.subarray(4, 16).toString('hex'), '00020002000000000000002a');
  assert.equal(out.subarray(16).toString('hex'), 'eeeeeeee');
  assert.deepEqual(decodeHeader(out, 4), { version: 0, type: FrameType.Ping, flags: Flag.ACK, streamId: 0, length: 42 });
});

test('decode rejects a foreign version, an unknown type and short input with BURROW_MUX_PROTOCOL', () => {
  const bad = [
    Buffer.from('010000000000000100000000', 'hex'), // version 1
    Buffer.from('000400000000000100000000', 'hex'), // type 4
    Buffer.from('00ff00000000000100000000', 'hex'), // type 255
    Buffer.from('0000000000000001000000', 'hex'), // 11 bytes
  ];
  for (const b of bad) {
    assert.throws(
      () => decodeHeader(b),
      (err) => isBurrowError(err, 'BURROW_MUX_PROTOCOL'),
    );
  }
  assert.throws(
    () => decodeHeader(Buffer.alloc(12), 1),
    (err) => isBurrowError(err, 'BURROW_MUX_PROTOCOL'),
  );
});

test('encode rejects out-of-range fields and a buffer without room', () => {
  const ok: FrameHeader = { version: 0, type: FrameType.Data, flags: 0, streamId: 1, length: 1 };
  const bad: FrameHeader[] = [
    { ...ok, version: 1 },
    { ...ok, type: 9 as FrameType },
    { ...ok, flags: 0x10000 },
    { ...ok, streamId: -1 },
    { ...ok, length: 2 ** 32 },
    { ...ok, length: 1.5 },
  ];
  for (const h of bad)
    assert.throws(
      () => encodeHeader(h),
      (err) => isBurrowError(err, 'BURROW_MUX_PROTOCOL'),
    );
  assert.throws(
    () => encodeHeader(ok, Buffer.alloc(15), 4),
    (err) => isBurrowError(err, 'BURROW_MUX_PROTOCOL'),
  );
});

/** Records what a FrameReader reports, payload pieces joined per frame. */
function recordFrames(input: Buffer, cuts: number[]): string[] {
  const seen: string[] = [];
  let payload: Buffer[] = [];
  const sink: FrameSink = {
    onFrame: (type, flags, id, length) => {
      seen.push(`h ${type} ${flags} ${id} ${length}`);
      payload = [];
    },
    onPayload: (piece) => payload.push(Buffer.from(piece)),
    onPayloadEnd: () => seen.push(`p ${Buffer.concat(payload).toString('hex')}`),
  };
  const reader = new FrameReader(sink);
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    reader.write(input.subarray(at, cut));
    at = cut;
  }
  return seen;
}

test('the streaming frame reader reports the same frames however the bytes are chunked', () => {
  const parts: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const len = (i * 37) % 300;
    const body = Buffer.alloc(len, i);
    parts.push(encodeHeader({ version: 0, type: FrameType.Data, flags: i % 3 === 0 ? Flag.FIN : 0, streamId: 1 + 2 * (i % 4), length: len }), body);
    parts.push(encodeHeader({ version: 0, type: FrameType.WindowUpdate, flags: 0, streamId: 3, length: i * 1000 }));
    parts.push(encodeHeader({ version: 0, type: FrameType.Ping, flags: Flag.SYN, streamId: 0, length: i }));
  }
  const input = Buffer.concat(parts);
  const reference = recordFrames(input, []);
  assert.equal(reference.filter((s) => s.startsWith('h ')).length, 120);
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const cuts = new Set<number>();
    const count = rand(200);
    for (let i = 0; i < count; i++) cuts.add(rand(input.length));
    assert.deepEqual(
      recordFrames(
        input,
        [...cuts].sort((a, b) => a - b),
      ),
      reference,
    );
  }
  // One byte at a time.
  assert.deepEqual(
    recordFrames(
      input,
      Array.from({ length: input.length - 1 }, (_, i) => i + 1),
    ),
    reference,
  );
});
