import type { Duplex } from 'node:stream';
import { type UdpSendLimits, UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket, MAX_DATAGRAM } from '../../protocol/udp-packet.js';
import { type WireProtocol, wireCodec } from '../../protocol/wire-codec.js';
import type { TrafficCounter } from '../../relay/pipe.js';

/** One side of a sudp bridge: the stream (after its transforms), its framing, and how big a datagram its reader takes. */
export interface BridgeSide {
  readonly stream: Duplex;
  readonly wire: WireProtocol;
  /** frp's cut toward this side (whole only toward a burrow reader that said so) */
  readonly limits: UdpSendLimits;
}

export const WHOLE: UdpSendLimits = { packetSize: MAX_DATAGRAM, whole: true };

/**
 * A sudp visitor and the proxy's work connection that speak different
 * framings (one client on wire v1, the other on v2): the UDPPacket stream is
 * decoded on one side and written in the other's framing, as frps bridges
 * them. Pings go from the proxy to the visitor only (frp drops the visitor's,
 * the proxy's client does not expect them). A bad frame on either side ends
 * both. Resolves when both are closed; counts datagram bytes (the framed
 * bytes differ on the two sides).
 */
export function bridgeUdpPackets(visitor: BridgeSide, proxy: BridgeSide, counter: TrafficCounter): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const closeBoth = (): void => {
      visitor.stream.destroy();
      proxy.stream.destroy();
    };
    const pump = (from: BridgeSide, to: BridgeSide, pings: boolean, count: (n: number) => void): void => {
      const reader = wireCodec(from.wire).reader(UDP_STREAM_MAX_BODY);
      const ping = wireCodec(to.wire).encode({ type: 'Ping', body: {} });
      from.stream.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
          for (let msg = reader.next(); msg; msg = reader.next()) {
            let out: Buffer | undefined;
            if (msg.type === 'UDPPacket') {
              const { payload, addr } = decodeUdpPacket(msg.body);
              count(payload.length);
              out = encodeUdpPacket(payload, addr, to.limits, to.wire);
            } else if (msg.type === 'Ping' && pings) out = ping;
            if (out && !to.stream.write(out)) {
              from.stream.pause();
              to.stream.once('drain', () => from.stream.resume());
            }
          }
        } catch {
          closeBoth();
        }
      });
      from.stream.once('end', closeBoth);
      from.stream.once('error', closeBoth);
      from.stream.once('close', () => {
        closeBoth();
        if (--open === 0) resolve();
      });
    };
    pump(proxy, visitor, true, (n) => {
      counter.bytesOut += n;
    });
    pump(visitor, proxy, false, (n) => {
      counter.bytesIn += n;
    });
  });
}
