import type { WireCodec, WireProtocol } from '../protocol/wire-codec.js';
import { WIRE_V1, wireCodec } from '../protocol/wire-codec.js';

/**
 * Which framing a logical connection speaks, kept beside the stream itself
 * (as frp wraps the connection with its protocol): the server learns it at
 * the first bytes, the client decides it at dial, and every later message on
 * that stream (StartWorkConn, NewVisitorConnResp, NatHoleSid, UDPPacket) is
 * framed the same way without threading a parameter through every proxy type.
 * Only v2 streams are recorded: a v1 stream costs one failed map lookup.
 */
const v2Streams = new WeakSet<object>();

export function markWire(stream: object, protocol: WireProtocol): void {
  if (protocol === 'v2') v2Streams.add(stream);
  else v2Streams.delete(stream);
}

export function wireOf(stream: object): WireProtocol {
  return v2Streams.has(stream) ? 'v2' : 'v1';
}

export function codecOf(stream: object): WireCodec {
  return v2Streams.has(stream) ? wireCodec('v2') : WIRE_V1;
}
