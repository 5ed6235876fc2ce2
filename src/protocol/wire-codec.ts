import { MAX_MESSAGE_BODY, MessageDecoder, encodeMessageWithin } from './codec.js';
import type { Message } from './messages.js';
import { V2MessageDecoder, V2_MAX_FRAME_PAYLOAD, encodeV2Message } from './wire-v2.js';

/** frp's two message framings; `transport.wireProtocol` on the client, detected per connection by the server. */
export type WireProtocol = 'v1' | 'v2';

/** An incremental message reader of either framing. */
export interface MessageReader {
  push(chunk: Buffer): void;
  next(): Message | undefined;
  takeRemainder(): Buffer;
}

/** How messages are framed on one logical connection. */
export interface WireCodec {
  readonly protocol: WireProtocol;
  /** the whole frame, for a single write; BURROW_FRAME_TOO_LARGE above `maxBodyLength` */
  encode(msg: Message, maxBodyLength?: number): Buffer;
  /** a reader refusing bodies above `maxBodyLength` (v2 frames are bounded at 64 KiB whatever is asked) */
  reader(maxBodyLength?: number): MessageReader;
}

const V2_MAX_BODY = V2_MAX_FRAME_PAYLOAD - 2;

export const WIRE_V1: WireCodec = Object.freeze({
  protocol: 'v1',
  encode: (msg: Message, maxBodyLength = MAX_MESSAGE_BODY) => encodeMessageWithin(msg, maxBodyLength),
  reader: (maxBodyLength = MAX_MESSAGE_BODY) => new MessageDecoder({ maxBodyLength }),
} as const);

/** v2 has one limit, the frame's: frp's v2 readers take any message that fits a frame. */
export const WIRE_V2: WireCodec = Object.freeze({
  protocol: 'v2',
  encode: (msg: Message, maxBodyLength = V2_MAX_BODY) => encodeV2Message(msg, maxBodyLength),
  reader: (maxBodyLength = V2_MAX_BODY) => new V2MessageDecoder(Math.min(maxBodyLength, V2_MAX_BODY)),
} as const);

export function wireCodec(protocol: WireProtocol): WireCodec {
  return protocol === 'v2' ? WIRE_V2 : WIRE_V1;
}
