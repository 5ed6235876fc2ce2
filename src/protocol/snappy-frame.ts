import { lazyRequire } from '../util/lazy-require.js';
import { BurrowError } from '../util/errors.js';
import { maskedCrc32c } from './crc32c.js';

/**
 * The snappy framing format, as frp's `useCompression` writes it: a stream
 * identifier chunk on the first write, then one chunk per <= 64 KiB of input,
 * each with a masked CRC-32C of the uncompressed bytes (little-endian, like
 * the 24-bit chunk lengths). The writer is unbuffered: every non-empty
 * encode() yields complete chunks, so the peer can decode them at once.
 */

const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const IDENTIFIER_BODY = STREAM_IDENTIFIER.subarray(4);
/** The format's limit on the uncompressed size of one chunk. */
const MAX_BLOCK = 65536;
const CHUNK_HEADER = 4;
const CHECKSUM = 4;
const EMPTY = Buffer.alloc(0);
/**
 * Output copied into ordinary Buffers: the default external buffers were
 * measured 3-30x slower per 64 KiB chunk (finalizer and GC pressure).
 */
const NATIVE_OPTIONS = { copyOutputData: true } as const;
/** The native snappy addon loads with the first compressed proxy, not in every process. */
const snappy = lazyRequire<typeof import('snappy')>('snappy');

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_IDENTIFIER = 0xff;
/** 0x02-0x7f are reserved and must not be skipped; 0x80-0xfe (incl. padding 0xfe) may be. */
const FIRST_SKIPPABLE = 0x80;

/** Worst-case size of snappy's raw encoding of `n` bytes. */
function maxEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function corrupt(what: string): BurrowError {
  return new BurrowError('BURROW_COMPRESSION', `corrupt snappy stream: ${what}`);
}

export class SnappyFrameEncoder {
  private started = false;

  encode(data: Buffer): Buffer {
    if (data.length === 0) return EMPTY;
    const parts: Buffer[] = [];
    let total = 0;
    if (!this.started) {
      this.started = true;
      parts.push(STREAM_IDENTIFIER);
      total += STREAM_IDENTIFIER.length;
    }
    for (let offset = 0; offset < data.length; offset += MAX_BLOCK) {
      const block = data.subarray(offset, Math.min(offset + MAX_BLOCK, data.length));
      const compressed = snappy().compressSync(block, NATIVE_OPTIONS);
      // Same rule as the reference: keep compression only if it saves at least 1/8.
      const useCompressed = compressed.length < block.length - (block.length >>> 3);
      const body = useCompressed ? compressed : block;
      const header = Buffer.allocUnsafe(CHUNK_HEADER + CHECKSUM);
      header[0] = useCompressed ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
      header.writeUIntLE(body.length + CHECKSUM, 1, 3);
      header.writeUInt32LE(maskedCrc32c(block), CHUNK_HEADER);
      parts.push(header, body);
      total += header.length + body.length;
    }
    return Buffer.concat(parts, total);
  }
}

/**
 * Incremental reader of the framing format; accepts any chunking. Memory is
 * bounded by one chunk: lengths are checked from the chunk header and from the
 * raw block's length preamble before anything is allocated.
 */
export class SnappyFrameDecoder {
  /** largest uncompressed chunk accepted */
  private readonly maxChunk: number;
  private readonly header = Buffer.alloc(CHUNK_HEADER);
  private headerFilled = 0;
  /** type and body length of the chunk being read, once its header is complete */
  private chunkType = -1;
  private chunkLength = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private skipRemaining = 0;
  private sawIdentifier = false;
  private failure: BurrowError | undefined;

  /** `maxChunk`: largest uncompressed chunk accepted (default and upper bound 65536, the format's limit). */
  constructor(opts?: { maxChunk?: number }) {
    const max = opts?.maxChunk ?? MAX_BLOCK;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_BLOCK) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `maxChunk must be an integer in 1-${MAX_BLOCK}, got ${max}`);
    }
    this.maxChunk = max;
  }

  /** The uncompressed bytes completed by `data` (possibly empty; may be a view into `data`). */
  decode(data: Buffer): Buffer {
    if (this.failure) throw this.failure;
    try {
      return this.consume(data);
    } catch (err) {
      this.failure = err instanceof BurrowError ? err : new BurrowError('BURROW_COMPRESSION', 'corrupt snappy stream', { cause: err });
      throw this.failure;
    }
  }

  private consume(data: Buffer): Buffer {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, data.length - pos);
        this.skipRemaining -= n;
        pos += n;
        continue;
      }
      if (this.chunkType < 0) {
        const n = Math.min(CHUNK_HEADER - this.headerFilled, data.length - pos);
        data.copy(this.header, this.headerFilled, pos, pos + n);
        this.headerFilled += n;
        pos += n;
        if (this.headerFilled < CHUNK_HEADER) break;
        this.headerFilled = 0;
        this.startChunk(this.header[0], this.header.readUIntLE(1, 3));
        continue;
      }
      const wanted = this.chunkLength - this.bodyFilled;
      if (this.bodyFilled === 0 && data.length - pos >= wanted) {
        // The whole chunk is in this piece of input: no copy.
        const body = data.subarray(pos, pos + wanted);
        pos += wanted;
        this.finishChunk(body, out);
        continue;
      }
      // A chunk split across inputs is gathered in its own buffer (bounded by the header checks),
      // released once decoded, so idle connections hold no chunk-sized memory.
      const body = (this.body ??= Buffer.allocUnsafe(this.chunkLength));
      const n = Math.min(wanted, data.length - pos);
      data.copy(body, this.bodyFilled, pos, pos + n);
      this.bodyFilled += n;
      pos += n;
      if (this.bodyFilled === this.chunkLength) {
        this.body = undefined;
        this.bodyFilled = 0;
        this.finishChunk(body, out);
      }
    }
    if (out.length === 0) return EMPTY;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  private startChunk(type: number, length: number): void {
    if (!this.sawIdentifier && type !== CHUNK_STREAM_IDENTIFIER) throw corrupt('missing stream identifier');
    switch (type) {
      case CHUNK_STREAM_IDENTIFIER:
        if (length !== IDENTIFIER_BODY.length) throw corrupt('bad stream identifier');
        break;
      case CHUNK_COMPRESSED:
        if (length < CHECKSUM || length > CHECKSUM + maxEncodedLength(this.maxChunk)) {
          throw corrupt(`compressed chunk of ${length} bytes is out of bounds`);
        }
        break;
      case CHUNK_UNCOMPRESSED:
        if (length < CHECKSUM || length - CHECKSUM > this.maxChunk) {
          throw corrupt(`uncompressed chunk of ${length} bytes is out of bounds`);
        }
        break;
      default:
        if (type < FIRST_SKIPPABLE) throw corrupt(`unknown unskippable chunk type 0x${type.toString(16)}`);
        this.skipRemaining = length;
        return;
    }
    this.chunkType = type;
    this.chunkLength = length;
  }

  private finishChunk(body: Buffer, out: Buffer[]): void {
    const type = this.chunkType;
    this.chunkType = -1;
    if (type === CHUNK_STREAM_IDENTIFIER) {
      if (!body.equals(IDENTIFIER_BODY)) throw corrupt('bad stream identifier');
      this.sawIdentifier = true;
      return;
    }
    const expected = body.readUInt32LE(0);
    const payload = body.subarray(CHECKSUM);
    let plain: Buffer;
    if (type === CHUNK_COMPRESSED) {
      const length = rawDecodedLength(payload);
      if (length > this.maxChunk) throw corrupt(`chunk decodes to ${length} bytes, over the ${this.maxChunk} limit`);
      try {
        plain = snappy().uncompressSync(payload, { asBuffer: true, ...NATIVE_OPTIONS }) as Buffer;
      } catch (err) {
        throw new BurrowError('BURROW_COMPRESSION', 'corrupt snappy stream: bad compressed block', { cause: err });
      }
    } else {
      plain = payload;
    }
    if (maskedCrc32c(plain) !== expected) throw corrupt('checksum mismatch');
    if (plain.length > 0) out.push(plain);
  }
}

/** The varint length preamble of a raw snappy block. */
function rawDecodedLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw corrupt('bad block length');
}
