import type { Duplex } from 'node:stream';
import type { Message } from '../../protocol/messages.js';
import { type MessageReader, type WireProtocol, wireCodec } from '../../protocol/wire-codec.js';
import { UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket, type UdpAddress, type UdpSendLimits } from '../../protocol/udp-packet.js';
import { BurrowError } from '../../util/errors.js';
import { realTimers, type Timer, type Timers } from '../../util/timers.js';

export enum PacketChannelState {
  Open = 'open',
  Closed = 'closed',
}

export interface UdpPacketChannelOptions {
  /** one datagram arrived on the stream */
  onPacket(payload: Buffer, addr: UdpAddress): void;
  /** the stream ended; `err` says why when it failed (bad frame, idle, ...) */
  onClose(err?: Error): void;
  /** how datagrams are cut for the reader at the far end (whole only toward a burrow peer that said so) */
  limits: UdpSendLimits;
  /** send a Ping this often: frp's proxy-owning side does, every 30 s */
  heartbeatMs?: number;
  /** close when neither a datagram nor a Ping arrived for this long (frp: 60 s) */
  readIdleMs?: number;
  /** datagrams are dropped (as UDP may) while this many bytes wait to be written */
  maxQueuedBytes?: number;
  /** the heartbeat and idle timers' clock (a fake one in tests) */
  timers?: Timers;
  /** the framing of the logical connection under the stream (v1 unless the client chose v2) */
  wire?: WireProtocol;
}

/** 4 MiB of frames waiting in the stream: beyond that the far side is not keeping up. */
const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * A udp or sudp payload stream: UDPPacket frames both ways, Pings as
 * keep-alive. Reads accept bodies up to UDP_STREAM_MAX_BODY (whole 64 KiB
 * datagrams); writes keep to `limits` (frp's, unless the far end is a burrow
 * peer that reads whole datagrams); a malformed, oversize or forged frame closes this stream only,
 * with a coded error passed to onClose.
 */
export class UdpPacketChannel {
  state = PacketChannelState.Open;
  /** datagrams dropped because the stream was congested */
  dropped = 0;
  private readonly decoder: MessageReader;
  private readonly wire: WireProtocol;
  private readonly heartbeat: Timer | undefined;
  private readonly idleTimer: Timer | undefined;
  private readonly maxQueued: number;
  /** frames written during this turn of the event loop, flushed together (see write) */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: UdpPacketChannelOptions,
  ) {
    this.maxQueued = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.wire = opts.wire ?? 'v1';
    const codec = wireCodec(this.wire);
    this.decoder = codec.reader(UDP_STREAM_MAX_BODY);
    const ping = codec.encode({ type: 'Ping', body: {} });
    const timers = opts.timers ?? realTimers;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.close());
    stream.once('close', () => this.close());
    stream.on('error', (err: Error) => this.close(err));
    if (opts.heartbeatMs !== undefined && opts.heartbeatMs > 0) {
      this.heartbeat = timers.setInterval(() => this.write(ping), opts.heartbeatMs);
      this.heartbeat.unref();
    }
    if (opts.readIdleMs !== undefined && opts.readIdleMs > 0) {
      const ms = opts.readIdleMs;
      this.idleTimer = timers.setTimeout(() => this.close(new BurrowError('BURROW_TIMEOUT', `nothing received for ${ms} ms`)), ms);
      this.idleTimer.unref();
    }
  }

  /** Queues one datagram for `to`; false when it was dropped (congested or closed). */
  send(payload: Buffer, to: UdpAddress): boolean {
    if (this.state !== PacketChannelState.Open) return false;
    if (this.stream.writableLength + this.batchBytes > this.maxQueued) {
      this.dropped += 1;
      return false;
    }
    return this.write(encodeUdpPacket(payload, to, this.opts.limits, this.wire));
  }

  /** Ends the stream now. Idempotent; onClose runs once. */
  close(err?: Error): void {
    if (this.state === PacketChannelState.Closed) return;
    this.state = PacketChannelState.Closed;
    this.heartbeat?.close();
    this.idleTimer?.close();
    clearImmediate(this.flushScheduled);
    this.batch = [];
    this.stream.destroy();
    this.opts.onClose(err);
  }

  /**
   * Datagrams read in one poll of the event loop arrive as separate events.
   * The first one of a loop turn is written at once (no added latency for a
   * lone datagram); the ones after it in the same turn are joined into one
   * write after the poll (setImmediate), so a burst costs one cipher call,
   * one yamux frame, one TLS record and one syscall instead of one each.
   */
  private write(frame: Buffer): boolean {
    if (this.state !== PacketChannelState.Open || this.stream.destroyed || this.stream.writableEnded) return false;
    if (this.flushScheduled === undefined) {
      this.stream.write(frame);
      this.flushScheduled = setImmediate(() => this.flush());
      return true;
    }
    this.batch.push(frame);
    this.batchBytes += frame.length;
    return true;
  }

  private flush(): void {
    this.flushScheduled = undefined;
    const frames = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    if (frames.length === 0 || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
  }

  private onData(chunk: Buffer): void {
    if (this.state !== PacketChannelState.Open) return;
    this.idleTimer?.refresh();
    try {
      this.decoder.push(chunk);
      let msg: Message | undefined;
      while (this.state === PacketChannelState.Open && (msg = this.decoder.next())) {
        if (msg.type === 'UDPPacket') {
          const { payload, addr } = decodeUdpPacket(msg.body);
          this.opts.onPacket(payload, addr);
        }
        // Ping only proves the stream is alive (the timer was refreshed); frp ignores other types here too.
      }
    } catch (err) {
      this.close(err instanceof Error ? err : new BurrowError('BURROW_BAD_FRAME', String(err)));
    }
  }
}
