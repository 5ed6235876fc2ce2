import { BurrowError } from '../util/errors.js';
import { ChunkQueue } from './chunk-queue.js';
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
  private readonly queue = new ChunkQueue(HEADER_LENGTH);
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
