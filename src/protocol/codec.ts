import { BurrowError } from '../util/errors.js';
import { decodeBody, encodeBody } from './message-body.js';
import { MESSAGE_TYPE_BYTE, messageTypeFromByte, type Message } from './messages.js';

/**
 * Wire protocol v1 framing: one type byte, a signed 64-bit big-endian body
 * length, then a JSON object (its encoding: message-body.ts). Every v1 reader
 * of the reference refuses bodies above this size, so frames we send must
 * stay under it too.
 */
export const MAX_MESSAGE_BODY = 10240;

const HEADER_LENGTH = 9;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------
// Encoding

/** The whole frame in one Buffer, so it goes out in a single write as the reference does. */
export function encodeMessage(msg: Message): Buffer {
  return encodeMessageWithin(msg, MAX_MESSAGE_BODY);
}

/**
 * encodeMessage with another body limit, for the streams whose reader agreed
 * to more (the UDPPacket streams, see UDP_STREAM_MAX_BODY).
 */
export function encodeMessageWithin(msg: Message, maxBodyLength: number): Buffer {
  const json = encodeBody(msg);
  const bodyLength = Buffer.byteLength(json);
  if (bodyLength > maxBodyLength) {
    throw new BurrowError('BURROW_FRAME_TOO_LARGE', `${msg.type} body is ${bodyLength} bytes; the peer accepts at most ${maxBodyLength}`);
  }
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  frame[0] = MESSAGE_TYPE_BYTE[msg.type];
  frame.writeUInt32BE(0, 1);
  frame.writeUInt32BE(bodyLength, 5);
  frame.write(json, HEADER_LENGTH, 'utf8');
  return frame;
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Incremental v1 frame reader: accepts bytes in any chunking and yields whole
 * messages. The type byte and the length are validated as soon as they are
 * available, before any of the body is waited for. After an error the
 * decoder stays failed: the stream it reads is no longer in sync.
 */
export class MessageDecoder {
  private readonly maxBodyLength: number;
  private readonly queue = new ChunkQueue();
  private failure: BurrowError | undefined;

  constructor(opts?: { maxBodyLength?: number }) {
    const max = opts?.maxBodyLength ?? MAX_MESSAGE_BODY;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `maxBodyLength must be a non-negative integer, got ${max}`);
    }
    this.maxBodyLength = max;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  next(): Message | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.readFrame();
    } catch (err) {
      this.failure = err instanceof BurrowError ? err : new BurrowError('BURROW_BAD_FRAME', 'bad message', { cause: err });
      throw this.failure;
    }
  }

  /** Everything pushed that next() has not returned as a message; empties the decoder. */
  takeRemainder(): Buffer {
    return this.queue.takeAll();
  }

  private readFrame(): Message | undefined {
    const queue = this.queue;
    if (queue.length === 0) return undefined;
    const typeByte = queue.byteAt(0);
    const type = messageTypeFromByte(typeByte);
    if (type === undefined) {
      throw new BurrowError('BURROW_UNKNOWN_MESSAGE', `unknown message type byte 0x${typeByte.toString(16).padStart(2, '0')}`);
    }
    if (queue.length < HEADER_LENGTH) return undefined;
    const header = queue.peek(HEADER_LENGTH);
    const high = header.readInt32BE(1);
    const low = header.readUInt32BE(5);
    if (high < 0) throw new BurrowError('BURROW_BAD_FRAME', `${type} frame has a negative body length`);
    if (high > 0 || low > this.maxBodyLength) {
      throw new BurrowError(
        'BURROW_FRAME_TOO_LARGE',
        `${type} body length ${high > 0 ? 'of 4 GiB or more' : low} exceeds the limit of ${this.maxBodyLength} bytes`,
      );
    }
    if (queue.length < HEADER_LENGTH + low) return undefined;
    queue.skip(HEADER_LENGTH);
    return decodeBody(type, queue.take(low));
  }
}

/**
 * Received chunks not yet consumed. Bytes are copied only when a read spans
 * chunks; the array is compacted lazily so 1-byte chunking stays linear.
 */
class ChunkQueue {
  private chunks: Buffer[] = [];
  /** index of the first live chunk */
  private first = 0;
  /** offset of the first unread byte in chunks[first] */
  private head = 0;
  length = 0;
  private readonly scratch = Buffer.alloc(HEADER_LENGTH);

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  byteAt(i: number): number {
    return this.peek(i + 1)[i];
  }

  /** The next `n` (<= HEADER_LENGTH, <= length) bytes without consuming them. */
  peek(n: number): Buffer {
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    let copied = 0;
    let offset = this.head;
    for (let i = this.first; copied < n; i++) {
      const chunk = this.chunks[i];
      copied += chunk.copy(this.scratch, copied, offset, Math.min(chunk.length, offset + n - copied));
      offset = 0;
    }
    return this.scratch;
  }

  /** Consumes and returns the next `n` (<= length) bytes; a view when they sit in one chunk. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[this.first];
      const count = Math.min(chunk.length - this.head, n - copied);
      chunk.copy(out, copied, this.head, this.head + count);
      copied += count;
      this.skip(count);
    }
    return out;
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const available = this.chunks[this.first].length - this.head;
      if (n < available) {
        this.head += n;
        return;
      }
      n -= available;
      this.first += 1;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  takeAll(): Buffer {
    const live = this.chunks.length - this.first;
    let rest: Buffer;
    if (live === 0) rest = EMPTY;
    else if (live === 1) rest = this.chunks[this.first].subarray(this.head);
    else {
      const parts = this.chunks.slice(this.first);
      parts[0] = parts[0].subarray(this.head);
      rest = Buffer.concat(parts, this.length);
    }
    this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.length = 0;
    return rest;
  }
}
