import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compressSync } from 'snappy';
import { crc32c, maskedCrc32c } from '../../src/protocol/crc32c.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../../src/protocol/snappy-frame.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng } from '../helpers/random.js';

function split(data: Buffer, rand: (n: number) => number, max: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + rand(Math.min(data.length - i, max));
    parts.push(data.subarray(i, i + n));
    i += n;
  }
  return parts;
}

/** Bit-by-bit CRC-32C, the definition the fast version must agree with. */
function slowCrc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function isCompressionError(err: unknown): boolean {
  return isBurrowError(err, 'BURROW_COMPRESSION');
}

/** Mostly-text data that snappy can shrink, with a random stretch so not every chunk does. */
function compressible(size: number, rand: (n: number) => number): Buffer {
  const words = ['burrow ', 'tunnel ', 'frp ', 'GET /index.html HTTP/1.1\r\n', '{"ok":true}\n'];
  const parts: Buffer[] = [];
  let total = 0;
  while (total < size) {
    const part = rand(10) === 0 ? randomBytes(1 + rand(2000)) : Buffer.from(words[rand(words.length)]);
    parts.push(part);
    total += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

test('crc32c: known check value and agreement with the bitwise definition', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  const rand = prng(7);
  for (let len = 0; len < 200; len++) {
    const data = randomBytes(len + rand(3));
    assert.equal(crc32c(data), slowCrc32c(data), `length ${data.length}`);
  }
  // Unaligned views of a larger buffer.
  const big = randomBytes(5000);
  for (let off = 0; off < 9; off++) assert.equal(crc32c(big.subarray(off)), slowCrc32c(big.subarray(off)));
});

test('masked crc follows the snappy framing definition', () => {
  const c = crc32c(Buffer.from('hello'));
  assert.equal(maskedCrc32c(Buffer.from('hello')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32);
});

test('the first write starts with the exact stream identifier; empty writes emit nothing', () => {
  const enc = new SnappyFrameEncoder();
  assert.equal(enc.encode(Buffer.alloc(0)).length, 0);
  const first = enc.encode(Buffer.from('a'));
  assert.equal(first.subarray(0, 10).toString('hex'), 'ff060000734e61507059');
  // "a" does not compress: an uncompressed chunk, length 4 + 1, masked crc, then the byte.
  assert.equal(first.subarray(10, 14).toString('hex'), '01050000');
  assert.equal(first.readUInt32LE(14), maskedCrc32c(Buffer.from('a')));
  assert.equal(first.subarray(18).toString(), 'a');
  const second = enc.encode(Buffer.from('b'));
  assert.equal(second[0], 0x01, 'no second identifier');
  assert.equal(second.length, 9);
});

test('compressible input becomes type-0 chunks of at most 64 KiB input each', () => {
  const enc = new SnappyFrameEncoder();
  const data = Buffer.alloc(65536 * 2 + 1000, 'x');
  const out = enc.encode(data);
  const types: number[] = [];
  for (let pos = 10; pos < out.length; ) {
    types.push(out[pos]);
    pos += 4 + out.readUIntLE(pos + 1, 3);
  }
  assert.deepEqual(types, [0, 0, 0]);
  assert.ok(new SnappyFrameDecoder().decode(out).equals(data));
});

test('a chunk that saves less than 1/8 is stored uncompressed', () => {
  const enc = new SnappyFrameEncoder();
  const out = enc.encode(randomBytes(4096));
  assert.equal(out[10], 0x01);
  assert.equal(out.length, 10 + 8 + 4096);
});

test('round trips of random and compressible data up to 1 MiB with random chunking', () => {
  for (let seed = 1; seed <= 24; seed++) {
    const rand = prng(seed);
    const size = seed % 6 === 0 ? 1 << 20 : rand(300_000);
    const data = seed % 2 === 0 ? compressible(size, rand) : randomBytes(size);
    const enc = new SnappyFrameEncoder();
    const wire = Buffer.concat(split(data, rand, 1 + rand(200_000)).map((p) => enc.encode(p)));
    const dec = new SnappyFrameDecoder();
    const out = Buffer.concat(split(wire, rand, 1 + rand(100_000)).map((p) => dec.decode(p)));
    assert.ok(out.equals(data), `seed ${seed}, ${size} bytes`);
  }
});

test('one byte at a time decodes the same bytes', () => {
  const data = compressible(20_000, prng(3));
  const wire = new SnappyFrameEncoder().encode(data);
  const dec = new SnappyFrameDecoder();
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i++) out.push(dec.decode(wire.subarray(i, i + 1)));
  assert.ok(Buffer.concat(out).equals(data));
});

test('a bad checksum is rejected, in compressed and uncompressed chunks', () => {
  for (const data of [Buffer.alloc(1000, 'z'), randomBytes(1000)]) {
    const wire = new SnappyFrameEncoder().encode(data);
    wire[14] ^= 0x01; // first byte of the checksum of the first data chunk
    assert.throws(() => new SnappyFrameDecoder().decode(wire), isCompressionError);
  }
  const flipped = new SnappyFrameEncoder().encode(randomBytes(100));
  flipped[flipped.length - 1] ^= 0x80;
  const dec = new SnappyFrameDecoder();
  assert.throws(() => dec.decode(flipped), isCompressionError);
  assert.throws(() => dec.decode(Buffer.alloc(1)), isCompressionError, 'stays failed');
});

test('skippable and padding chunks are skipped; unskippable unknown chunks are refused', () => {
  const enc = new SnappyFrameEncoder();
  const a = enc.encode(Buffer.from('first '));
  const b = enc.encode(Buffer.from('second'));
  const padding = Buffer.from([0xfe, 0x03, 0x00, 0x00, 0, 0, 0]);
  const skippable = Buffer.from([0x80, 0x00, 0x00, 0x00]);
  const repeatedIdentifier = Buffer.from('ff060000734e61507059', 'hex');
  const wire = Buffer.concat([a, padding, skippable, repeatedIdentifier, b]);
  assert.equal(new SnappyFrameDecoder().decode(wire).toString(), 'first second');

  const unknown = Buffer.concat([a, Buffer.from([0x02, 0x01, 0x00, 0x00, 0x00])]);
  assert.throws(() => new SnappyFrameDecoder().decode(unknown), isCompressionError);
});

test('streams must start with the identifier, and oversize chunks are refused from the header', () => {
  const noIdentifier = new SnappyFrameEncoder().encode(Buffer.from('abc')).subarray(10);
  assert.throws(() => new SnappyFrameDecoder().decode(noIdentifier), isCompressionError);

  const id = Buffer.from('ff060000734e61507059', 'hex');
  const hugeUncompressed = Buffer.concat([id, Buffer.from([0x01, 0x05, 0x00, 0x01])]); // 65541 bytes: 65537 of data
  assert.throws(() => new SnappyFrameDecoder().decode(hugeUncompressed), isCompressionError);
  const hugeCompressed = Buffer.concat([id, Buffer.from([0x00, 0xff, 0xff, 0xff])]);
  assert.throws(() => new SnappyFrameDecoder().decode(hugeCompressed), isCompressionError);

  // A compressed chunk whose block claims more than maxChunk bytes is refused before decompression.
  const block = compressSync(Buffer.alloc(5000, 'q'));
  const chunk = Buffer.alloc(8);
  chunk[0] = 0x00;
  chunk.writeUIntLE(block.length + 4, 1, 3);
  chunk.writeUInt32LE(maskedCrc32c(Buffer.alloc(5000, 'q')), 4);
  const wire = Buffer.concat([id, chunk, block]);
  assert.equal(new SnappyFrameDecoder().decode(wire).length, 5000);
  assert.throws(() => new SnappyFrameDecoder({ maxChunk: 4096 }).decode(wire), isCompressionError);

  const garbage = Buffer.concat([id, Buffer.from([0x00, 0x08, 0x00, 0x00, 0, 0, 0, 0, 0x05, 0xff, 0xff, 0xff])]);
  assert.throws(() => new SnappyFrameDecoder().decode(garbage), isCompressionError);
});
