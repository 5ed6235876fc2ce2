import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '../../config/types.js';
import { wireOf } from '../../control/wire-mark.js';
import { BURROW_FEATURES, hasBurrowFeature } from '../../protocol/burrow-features.js';
import type { StartWorkConn } from '../../protocol/messages.js';
import { describeError } from '../../util/errors.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import type { ClientProxyContext } from '../client-context.js';
import { limitBandwidth } from '../../relay/bandwidth-limit.js';
import { wrapPayload } from '../payload-transform.js';
import type { ClientProxyHandler } from '../types.js';
import { type LocalServiceOptions, localServiceOf } from './local-service.js';
import { UdpLocalForwarder } from './udp-local-forwarder.js';
import { UdpPacketChannel } from './udp-packet-channel.js';

/** frp's proxy-owning client pings every udp/sudp payload stream this often. */
export const UDP_HEARTBEAT_MS = 30_000;

export interface UdpClientProxyOptions extends LocalServiceOptions {
  /** frp's `udpPacketSize`: replies are cut to it unless StartWorkConn says the far end reads whole datagrams */
  udpPacketSize: number;
  /**
   * udp: the server keeps one work connection per proxy, so a new one
   * replaces the old. sudp: one work connection per visitor connection, all
   * served at once.
   */
  oneStreamAtATime: boolean;
}

/**
 * Client half of `udp` and `sudp`: each started work connection carries
 * UDPPacket frames; every visitor address gets its own local socket, and the
 * local service's replies go back tagged with that address.
 */
export class UdpClientProxy implements ClientProxyHandler {
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly streams = new Set<UdpPacketChannel>();

  constructor(private readonly opts: UdpClientProxyOptions) {}

  get streamCount(): number {
    return this.streams.size;
  }

  handleWorkConn(work: Duplex, start: StartWorkConn): void {
    const { name, logger, limiter } = this.opts;
    if (this.opts.oneStreamAtATime) for (const old of this.streams) old.close();
    const traffic = this.traffic;
    const forwarder = new UdpLocalForwarder({
      name,
      localIP: this.opts.localIP,
      localPort: this.opts.localPort,
      logger,
      ...(this.opts.proxyProtocolVersion ? { proxyProtocolVersion: this.opts.proxyProtocolVersion } : {}),
      onReply: (payload, visitor) => {
        traffic.bytesOut += payload.length;
        channel.send(payload, visitor);
      },
    });
    const channel: UdpPacketChannel = new UdpPacketChannel(wrapPayload(limiter ? limitBandwidth(work, limiter) : work, this.opts.payload), {
      wire: wireOf(work),
      heartbeatMs: UDP_HEARTBEAT_MS,
      // A burrow server says in StartWorkConn that its end (the server, or a sudp visitor behind it) reads them whole.
      limits: { packetSize: this.opts.udpPacketSize, whole: hasBurrowFeature(start.burrow_features, BURROW_FEATURES.wholeDatagrams) },
      onPacket: (payload, visitor) => {
        traffic.bytesIn += payload.length;
        forwarder.deliver(payload, visitor);
      },
      onClose: (err) => {
        this.streams.delete(channel);
        forwarder.close();
        if (err) logger.warn('udp work connection closed', { proxy: name, reason: describeError(err), code: codeOf(err) });
        else logger.debug('udp work connection closed', { proxy: name });
      },
    });
    this.streams.add(channel);
    logger.debug('udp work connection started', { proxy: name, remote: start.src_addr ?? '' });
  }

  close(): void {
    for (const s of this.streams) s.close();
  }
}

/**
 * The client half of a packet proxy type for one configured proxy;
 * `oneStreamAtATime` as in UdpClientProxyOptions.
 */
export function createUdpClientProxy(p: ProxyConfig, ctx: ClientProxyContext, oneStreamAtATime: boolean): UdpClientProxy {
  return new UdpClientProxy({ ...localServiceOf(p, ctx), udpPacketSize: ctx.udpPacketSize, oneStreamAtATime });
}

function codeOf(err: Error): string | undefined {
  return 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
