import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIP } from 'node:net';
import type { VisitorConfig } from '../../config/types.js';
import { udpAddressFrom, udpAddressKey, type UdpAddress } from '../../protocol/udp-packet.js';
import { BurrowError, describeError } from '../../util/errors.js';
import { FlowTable } from '../../util/flow-table.js';
import type { Logger } from '../../util/logger.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import { UDP_RECV_BUFFER } from '../../util/socket-buffers.js';
import type { VisitorLink } from '../client-context.js';
import { UdpPacketChannel } from '../shared/udp-packet-channel.js';
import { openVisitorConnWithAnswer, visitorCipherKey } from '../shared/visitor-conn.js';
import { BURROW_FEATURES, hasBurrowFeature } from '../../protocol/burrow-features.js';
import { VisitorState, type ClientVisitor } from '../types.js';

/** frp: the visiting side drops a sudp stream silent for 60 s (the owner pings every 30 s). */
const READ_IDLE_MS = 60_000;
/** Local senders remembered for replies, as the server does for udp. */
const SENDER_IDLE_MS = 60_000;
const MAX_SENDERS = 4096;
/** Datagrams held while the visitor connection opens. */
const MAX_PENDING = 1024;
/** After a failed visitor connection, datagrams are dropped this long before the next try. */
const RETRY_DELAY_MS = 1000;

/**
 * The visiting side of a sudp proxy: a local UDP socket; all its datagrams
 * travel as UDPPacket frames over one visitor connection (opened on the
 * first datagram, reopened after it fails, as frp does), tagged with the
 * local sender's address so each reply goes back to its sender.
 */
export class SudpVisitor implements ClientVisitor {
  state = VisitorState.Idle;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  /** datagrams lost: while connecting failed, congestion, replies to unknown senders */
  dropped = 0;
  private socket: Socket | undefined;
  private channel: UdpPacketChannel | undefined;
  private connecting = false;
  private retryAt = 0;
  private pending: Array<{ payload: Buffer; from: UdpAddress }> = [];
  private readonly senders = new FlowTable<UdpAddress>({ idleMs: SENDER_IDLE_MS, maxEntries: MAX_SENDERS });
  private readonly key: Buffer | undefined;

  constructor(
    readonly config: VisitorConfig,
    private readonly link: VisitorLink,
    private readonly log: Logger,
  ) {
    this.key = visitorCipherKey(config);
  }

  get name(): string {
    return this.config.name;
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async start(): Promise<void> {
    const { bindAddr, bindPort } = this.config;
    const socket = createSocket({ type: isIP(bindAddr) === 6 ? 'udp6' : 'udp4', recvBufferSize: UDP_RECV_BUFFER });
    socket.bind({ address: bindAddr, port: bindPort, exclusive: true });
    try {
      await once(socket, 'listening');
    } catch (err) {
      this.state = VisitorState.Failed;
      socket.close();
      throw new BurrowError('BURROW_LISTEN_FAILED', `visitor "${this.name}" cannot bind UDP ${bindAddr}:${bindPort}: ${describeError(err)}`);
    }
    socket.on('message', (payload: Buffer, rinfo: RemoteInfo) => this.onLocalDatagram(payload, rinfo));
    socket.on('error', (err: Error) => this.log.warn('visitor socket error', { visitor: this.name, reason: describeError(err) }));
    this.socket = socket;
    this.state = VisitorState.Running;
    this.log.info('visitor listening', { visitor: this.name, type: 'sudp', bind: `${bindAddr}:${this.port}` });
  }

  private onLocalDatagram(payload: Buffer, rinfo: RemoteInfo): void {
    if (this.state !== VisitorState.Running) return;
    const from = udpAddressFrom(rinfo.address, rinfo.port);
    const key = udpAddressKey(from);
    if (this.senders.touch(key) === undefined) this.senders.add(key, from);
    this.traffic.bytesIn += payload.length;
    if (this.channel) {
      if (!this.channel.send(payload, from)) this.dropped += 1;
      return;
    }
    if (Date.now() < this.retryAt || this.pending.length >= MAX_PENDING) {
      this.dropped += 1;
      return;
    }
    this.pending.push({ payload, from });
    if (!this.connecting) void this.connect();
  }

  private async connect(): Promise<void> {
    this.connecting = true;
    try {
      const { stream, ownerFeatures, wire } = await openVisitorConnWithAnswer(this.link, this.config, this.key);
      if (this.state !== VisitorState.Running) {
        stream.destroy();
        return;
      }
      const channel: UdpPacketChannel = new UdpPacketChannel(stream, {
        wire,
        readIdleMs: READ_IDLE_MS,
        limits: { packetSize: this.link.udpPacketSize, whole: hasBurrowFeature(ownerFeatures, BURROW_FEATURES.wholeDatagrams) },
        onPacket: (payload, to) => this.onReply(payload, to),
        onClose: (err) => {
          if (this.channel === channel) this.channel = undefined;
          if (err)
            this.log.warn('sudp visitor connection closed', {
              visitor: this.name,
              code: err instanceof BurrowError ? err.code : undefined,
              reason: describeError(err),
            });
        },
      });
      this.channel = channel;
      const queued = this.pending;
      this.pending = [];
      for (const { payload, from } of queued) channel.send(payload, from);
    } catch (err) {
      this.dropped += this.pending.length;
      this.pending = [];
      this.retryAt = Date.now() + RETRY_DELAY_MS;
      this.log.warn('visitor connection failed', { visitor: this.name, code: err instanceof BurrowError ? err.code : undefined, reason: describeError(err) });
    } finally {
      this.connecting = false;
    }
  }

  private onReply(payload: Buffer, to: UdpAddress): void {
    const socket = this.socket;
    // Only local senders get replies: the far side cannot make us send elsewhere.
    if (!socket || this.senders.touch(udpAddressKey(to)) === undefined) {
      this.dropped += 1;
      return;
    }
    this.traffic.bytesOut += payload.length;
    const v6 = socket.address().family === 'IPv6';
    socket.send(payload, to.port, v6 && !to.ip.includes(':') ? `::ffff:${to.ip}` : to.ip, () => {});
  }

  close(): void {
    if (this.state === VisitorState.Closed) return;
    this.state = VisitorState.Closed;
    this.channel?.close();
    this.senders.clear();
    this.pending = [];
    this.socket?.close();
  }
}
