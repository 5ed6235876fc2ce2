import type { RemoteInfo } from 'node:dgram';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../../control/message-io.js';
import { wireOf } from '../../control/wire-mark.js';
import { BURROW_FEATURES, hasBurrowFeature } from '../../protocol/burrow-features.js';
import type { NewProxy } from '../../protocol/messages.js';
import { udpAddressFrom, udpAddressKey, type UdpAddress, type UdpSendLimits } from '../../protocol/udp-packet.js';
import { BurrowError, describeError, isBurrowError } from '../../util/errors.js';
import { FlowTable } from '../../util/flow-table.js';
import type { Logger } from '../../util/logger.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import { wrapPayload, type PayloadTransformOptions } from '../payload-transform.js';
import type { AddressCheck, ProxyOwner, PublicUdpPort, ServerProxyContext } from '../server-context.js';
import { requestedPort } from '../shared/remote-port.js';
import { UdpPacketChannel } from '../shared/udp-packet-channel.js';
import type { ServerProxy } from '../types.js';

/** frp drops a udp work connection that sent neither a datagram nor a Ping for 60 s. */
const WORK_CONN_READ_IDLE_MS = 60_000;
/**
 * A visitor address is remembered this long after its last datagram either
 * way: longer than the client's 30 s local flows, so a reply the client may
 * still send finds its visitor.
 */
const VISITOR_IDLE_MS = 60_000;
/** Visitor addresses one proxy remembers; a flood of spoofed sources costs no more. */
const MAX_VISITORS = 4096;
/** Datagrams held while there is no work connection (frp buffers 1024 too). */
const MAX_PENDING = 1024;
/** A work connection that failed sooner than this is retried only after RETRY_DELAY_MS. */
const RETRY_DELAY_MS = 1000;
/** Replies to unknown addresses are logged at most this often per proxy. */
const UNKNOWN_PEER_LOG_MS = 10_000;

export enum UdpProxyState {
  WaitingForWorkConn = 'waiting for a work connection',
  Relaying = 'relaying',
  Closed = 'closed',
}

export interface UdpServerProxyOptions {
  name: string;
  /** the bound public socket, owned by the proxy from now on */
  socket: PublicUdpPort;
  payload: PayloadTransformOptions;
  /** how datagrams toward the client are cut (whole only for a burrow client that said so) */
  limits: UdpSendLimits;
  getWorkConn(): Promise<Duplex>;
  /** allowIPs/denyIPs on each datagram's source; absent when no list is set */
  admitAddress?: AddressCheck;
  logger: Logger;
}

/**
 * Server half of a `udp` proxy. The public socket's datagrams go to the
 * client as UDPPacket frames over one work connection (replaced whenever it
 * fails, as frp does); replies come back the same way and leave from the
 * public socket. Replies are sent only to addresses that sent to this proxy
 * recently, so a client cannot use the server to send to arbitrary hosts.
 */
export class UdpServerProxy implements ServerProxy {
  readonly type = 'udp';
  readonly name: string;
  readonly remoteAddr: string;
  readonly portsUsed = 1;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  state = UdpProxyState.WaitingForWorkConn;
  /** datagrams lost: congestion toward the client, no work connection for too long, forged replies */
  dropped = 0;
  private channel: UdpPacketChannel | undefined;
  private pending: Array<{ payload: Buffer; from: UdpAddress }> = [];
  private readonly visitors = new FlowTable<UdpAddress>({ idleMs: VISITOR_IDLE_MS, maxEntries: MAX_VISITORS });
  private readonly mappedV4: boolean;
  private unknownPeers = 0;
  private unknownLoggedAt = 0;

  constructor(private readonly opts: UdpServerProxyOptions) {
    this.name = opts.name;
    const bound = opts.socket.address();
    this.remoteAddr = `:${bound.port}`;
    this.mappedV4 = bound.family === 'IPv6';
    opts.socket.on('message', (payload: Buffer, rinfo: RemoteInfo) => this.onDatagram(payload, rinfo));
    opts.socket.on('error', (err: Error) => opts.logger.warn('udp proxy socket error', { proxy: this.name, reason: describeError(err) }));
    void this.keepWorkConn();
  }

  get port(): number {
    return Number(this.remoteAddr.slice(1));
  }

  /** visitor addresses seen within the idle time, as frp counts udp "connections" */
  get activeConnections(): number {
    return this.visitors.size;
  }

  close(): Promise<void> {
    if (this.state === UdpProxyState.Closed) return Promise.resolve();
    this.state = UdpProxyState.Closed;
    this.channel?.close();
    this.pending = [];
    this.visitors.clear();
    return new Promise((resolve) => this.opts.socket.close(() => resolve()));
  }

  private onDatagram(payload: Buffer, rinfo: RemoteInfo): void {
    if (this.state === UdpProxyState.Closed) return;
    // A datagram from an address the IP rules exclude is dropped here: it never reaches the client.
    if (this.opts.admitAddress && !this.opts.admitAddress(rinfo.address)) return;
    const from = udpAddressFrom(rinfo.address, rinfo.port);
    const key = udpAddressKey(from);
    if (this.visitors.touch(key) === undefined) this.visitors.add(key, from);
    this.traffic.bytesIn += payload.length;
    if (this.channel) {
      if (!this.channel.send(payload, from)) this.dropped += 1;
    } else if (this.pending.length < MAX_PENDING) {
      this.pending.push({ payload, from });
    } else {
      this.dropped += 1;
    }
  }

  private onReply(payload: Buffer, to: UdpAddress): void {
    if (this.visitors.touch(udpAddressKey(to)) === undefined) {
      this.dropped += 1;
      this.unknownPeers += 1;
      const now = Date.now();
      if (now - this.unknownLoggedAt >= UNKNOWN_PEER_LOG_MS) {
        this.unknownLoggedAt = now;
        const err = new BurrowError('BURROW_UDP_UNKNOWN_PEER', `reply to ${udpAddressKey(to)} dropped: that address has not sent to this proxy recently`);
        this.opts.logger.warn('udp reply refused', { proxy: this.name, reason: err.message, code: err.code, droppedSoFar: this.unknownPeers });
      }
      return;
    }
    this.traffic.bytesOut += payload.length;
    const ip = this.mappedV4 && !to.ip.includes(':') ? `::ffff:${to.ip}` : to.zone ? `${to.ip}%${to.zone}` : to.ip;
    this.opts.socket.send(payload, to.port, ip, () => {});
  }

  /** read through a getter: close() may run while the loop below awaits */
  private get closed(): boolean {
    return this.state === UdpProxyState.Closed;
  }

  /** One work connection at a time, for as long as the proxy lives. */
  private async keepWorkConn(): Promise<void> {
    const log = this.opts.logger;
    while (!this.closed) {
      const startedAt = Date.now();
      let work: Duplex;
      try {
        work = await this.opts.getWorkConn();
        if (this.closed) {
          work.destroy();
          return;
        }
        // We read whole datagrams: said to the client, which a stock frpc ignores.
        await writeMessage(work, { type: 'StartWorkConn', body: { proxy_name: this.name, burrow_features: [BURROW_FEATURES.wholeDatagrams] } });
      } catch (err) {
        if (this.closed) return;
        log.warn('udp proxy has no work connection', { proxy: this.name, reason: describeError(err) });
        await pause(RETRY_DELAY_MS);
        continue;
      }
      const err = await this.relay(work);
      if (this.closed) return;
      this.state = UdpProxyState.WaitingForWorkConn;
      const fields = { proxy: this.name, reason: err ? describeError(err) : 'closed by the client', code: isBurrowError(err) ? err.code : undefined };
      if (err && isBurrowError(err)) log.warn('udp work connection refused, taking another', fields);
      else log.info('udp work connection ended, taking another', fields);
      if (Date.now() - startedAt < RETRY_DELAY_MS) await pause(RETRY_DELAY_MS);
    }
  }

  /** Relays over `work` until it ends; resolves with the error that ended it, if any. */
  private relay(work: Duplex): Promise<Error | undefined> {
    return new Promise((resolve) => {
      const channel: UdpPacketChannel = new UdpPacketChannel(wrapPayload(work, this.opts.payload), {
        wire: wireOf(work),
        readIdleMs: WORK_CONN_READ_IDLE_MS,
        limits: this.opts.limits,
        onPacket: (payload, to) => this.onReply(payload, to),
        onClose: (err) => {
          if (this.channel === channel) this.channel = undefined;
          resolve(err);
        },
      });
      this.channel = channel;
      this.state = UdpProxyState.Relaying;
      const queued = this.pending;
      this.pending = [];
      for (const { payload, from } of queued) if (!channel.send(payload, from)) this.dropped += 1;
    });
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The server half of a `udp` NewProxy: its own public UDP port. */
export async function createUdpServerProxy(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): Promise<ServerProxy> {
  const port = requestedPort(ctx, owner, name, msg);
  // What may refuse the NewProxy comes before the bind, so a refusal leaves no socket open.
  const admitAddress = ctx.addressCheck(owner, name, msg);
  const payload = ctx.payloadOptions(msg, owner);
  const socket = await ctx.bindProxyUdpPort(name, port, owner);
  const limits = { packetSize: ctx.udpPacketSize, whole: hasBurrowFeature(owner.burrowFeatures, BURROW_FEATURES.wholeDatagrams) };
  return new UdpServerProxy({
    name,
    socket,
    payload,
    limits,
    getWorkConn: () => owner.getWorkConn(),
    ...(admitAddress ? { admitAddress } : {}),
    logger: owner.log,
  });
}
