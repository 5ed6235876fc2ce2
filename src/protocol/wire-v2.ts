import { BurrowError } from '../util/errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { decodeBody, encodeBody } from './message-body.js';
import type { Message, MessageType } from './messages.js';

/**
 * frp's wire protocol v2 framing (opt-in on the client, detected per logical
 * connection by the server): a 7-byte magic opens the connection, then frames
 * of `u16 type | u16 flags (0) | u32 length | payload`. A message frame's
 * payload is a u16 message id and the same JSON body as v1.
 */

/** "FRP", 0x00, the version 0x02, CR LF. */
export const V2_MAGIC: Buffer = Buffer.from('FRP\x00\x02\r\n', 'latin1');

export const V2_FRAME_HEADER = 8;
/** frp refuses a frame whose payload is longer, before reading it. */
export const V2_MAX_FRAME_PAYLOAD = 64 * 1024;

export const V2FrameType = {
  ClientHello: 1,
  ServerHello: 2,
  Message: 16,
} as const;

export interface V2Frame {
  readonly type: number;
  readonly payload: Buffer;
}

/** The message ids of v2 (the v1 type bytes are not used). */
export const V2_MESSAGE_ID: Readonly<Record<MessageType, number>> = Object.freeze({
  Login: 1,
  LoginResp: 2,
  NewProxy: 3,
  NewProxyResp: 4,
  CloseProxy: 5,
  NewWorkConn: 6,
  ReqWorkConn: 7,
  StartWorkConn: 8,
  NewVisitorConn: 9,
  NewVisitorConnResp: 10,
  Ping: 11,
  Pong: 12,
  UDPPacket: 13,
  NatHoleVisitor: 14,
  NatHoleClient: 15,
  NatHoleResp: 16,
  NatHoleSid: 17,
  NatHoleReport: 18,
});

const TYPE_BY_ID: ReadonlyMap<number, MessageType> = new Map((Object.keys(V2_MESSAGE_ID) as MessageType[]).map((type) => [V2_MESSAGE_ID[type], type]));

/** One frame: header and payload in one Buffer, for a single write. */
export function encodeV2Frame(type: number, payload: Buffer): Buffer {
  if (payload.length > V2_MAX_FRAME_PAYLOAD) {
    throw new BurrowError('BURROW_FRAME_TOO_LARGE', `v2 frame payload is ${payload.length} bytes; the limit is ${V2_MAX_FRAME_PAYLOAD}`);
  }
  const frame = Buffer.allocUnsafe(V2_FRAME_HEADER + payload.length);
  frame.writeUInt16BE(type, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt32BE(payload.length, 4);
  payload.copy(frame, V2_FRAME_HEADER);
  return frame;
}

/** A message as one v2 message frame; `maxBodyLength` bounds its JSON as the v1 encoder's does. */
export function encodeV2Message(msg: Message, maxBodyLength = V2_MAX_FRAME_PAYLOAD - 2): Buffer {
  return v2MessageFrameFromJson(msg.type, encodeBody(msg), maxBodyLength);
}

/** The message frame around a JSON body already encoded (the UDPPacket fast path builds its own). */
export function v2MessageFrameFromJson(type: MessageType, json: string, maxBodyLength = V2_MAX_FRAME_PAYLOAD - 2): Buffer {
  const bodyLength = Buffer.byteLength(json);
  const limit = Math.min(maxBodyLength, V2_MAX_FRAME_PAYLOAD - 2);
  if (bodyLength > limit) {
    throw new BurrowError('BURROW_FRAME_TOO_LARGE', `${type} body is ${bodyLength} bytes; the peer accepts at most ${limit}`);
  }
  const frame = Buffer.allocUnsafe(V2_FRAME_HEADER + 2 + bodyLength);
  frame.writeUInt16BE(V2FrameType.Message, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt32BE(2 + bodyLength, 4);
  frame.writeUInt16BE(V2_MESSAGE_ID[type], V2_FRAME_HEADER);
  frame.write(json, V2_FRAME_HEADER + 2, 'utf8');
  return frame;
}

/** The message a message frame carries; any other frame, an unknown id or bad JSON is BURROW_BAD_FRAME. */
export function decodeV2Message(frame: V2Frame): Message {
  if (frame.type !== V2FrameType.Message) {
    throw new BurrowError('BURROW_BAD_FRAME', `unexpected v2 frame type ${frame.type}, want ${V2FrameType.Message} (message)`);
  }
  if (frame.payload.length < 2) throw new BurrowError('BURROW_BAD_FRAME', 'v2 message frame payload too short');
  const id = frame.payload.readUInt16BE(0);
  const type = TYPE_BY_ID.get(id);
  if (type === undefined) throw new BurrowError('BURROW_UNKNOWN_MESSAGE', `unknown v2 message type ${id}`);
  return decodeBody(type, frame.payload.subarray(2));
}

/**
 * Incremental v2 frame reader: any chunking in, whole frames out. Flags and
 * length are checked as soon as the 8-byte header is in, before the payload is
 * waited for or allocated. After an error it stays failed.
 */
export class V2FrameDecoder {
  private readonly queue = new ChunkQueue(V2_FRAME_HEADER);
  private failure: BurrowError | undefined;

  constructor(private readonly maxPayload = V2_MAX_FRAME_PAYLOAD) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  next(): V2Frame | undefined {
    if (this.failure) throw this.failure;
    const queue = this.queue;
    if (queue.length < V2_FRAME_HEADER) return undefined;
    const header = queue.peek(V2_FRAME_HEADER);
    const type = header.readUInt16BE(0);
    const flags = header.readUInt16BE(2);
    const length = header.readUInt32BE(4);
    if (flags !== 0) this.failure = new BurrowError('BURROW_BAD_FRAME', `unsupported v2 frame flags: ${flags}`);
    else if (length > this.maxPayload) {
      this.failure = new BurrowError('BURROW_FRAME_TOO_LARGE', `v2 frame payload length ${length} exceeds limit ${this.maxPayload}`);
    }
    if (this.failure) throw this.failure;
    if (queue.length < V2_FRAME_HEADER + length) return undefined;
    queue.skip(V2_FRAME_HEADER);
    return { type, payload: queue.take(length) };
  }

  takeRemainder(): Buffer {
    return this.queue.takeAll();
  }
}

/** V2FrameDecoder that yields messages (the shape of the v1 MessageDecoder). */
export class V2MessageDecoder {
  private readonly frames = new V2FrameDecoder();
  private failure: BurrowError | undefined;

  constructor(private readonly maxBodyLength = V2_MAX_FRAME_PAYLOAD - 2) {}

  push(chunk: Buffer): void {
    this.frames.push(chunk);
  }

  next(): Message | undefined {
    if (this.failure) throw this.failure;
    try {
      const frame = this.frames.next();
      if (frame === undefined) return undefined;
      if (frame.payload.length - 2 > this.maxBodyLength) {
        throw new BurrowError('BURROW_FRAME_TOO_LARGE', `v2 message body length ${frame.payload.length - 2} exceeds the limit of ${this.maxBodyLength} bytes`);
      }
      return decodeV2Message(frame);
    } catch (err) {
      this.failure = err instanceof BurrowError ? err : new BurrowError('BURROW_BAD_FRAME', 'bad v2 message', { cause: err });
      throw this.failure;
    }
  }

  takeRemainder(): Buffer {
    return this.frames.takeRemainder();
  }
}
