import type { RemoteInfo, Socket } from 'node:dgram';
import { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import type { UdpPeer } from './punch.js';
import { Kind, StreamSealer, WIRE_OVERHEAD } from './udp-stream-wire.js';

/**
 * A reliable, ordered, encrypted byte stream over one punched UDP path: the
 * data path of burrow's xtcp (frp uses QUIC or KCP there, see docs/xtcp.md).
 *
 * Datagrams are sealed per src/nathole/udp-stream-wire.ts. Sender: sliding
 * window with AIMD congestion control; a segment is sent again when three
 * later ones were acknowledged (as KCP's fast resend) or on timeout (RFC 6298
 * estimator); receiver: in-order delivery, out-of-order buffer, delayed acks.
 */

/** payload per datagram: with our 47 bytes and IP/UDP it stays under the 1280 bytes every IPv6 path carries */
export const UDP_STREAM_MSS = 1280 - 48 - WIRE_OVERHEAD;
const RCV_WINDOW = 512;
const SEND_BUFFER = 1024 * 1024;
const TICK_MS = 10;
const ACK_DELAY_MS = 5;
const MIN_RTO_MS = 40;
const MAX_RTO_MS = 8000;
const MAX_TRANSMITS = 12;
const SYN_EVERY_MS = 200;
const KEEPALIVE_MS = 5000;

export enum UdpStreamState {
  Connecting = 'connecting',
  Open = 'open',
  Closed = 'closed',
}

export interface UdpStreamOptions {
  /** a bound socket; the stream owns it from now on and closes it */
  socket: Socket;
  peer: UdpPeer;
  /** the side that sends SYN (the visitor) */
  initiator: boolean;
  secretKey: string;
  sid: string;
  /** datagrams that are not this stream's (late hole-punching probes) */
  onForeign?(msg: Buffer, rinfo: RemoteInfo): void;
  connectTimeoutMs?: number;
  /** closed when nothing arrives from the peer for this long (keep-alives every 5 s) */
  deadAfterMs?: number;
}

interface Segment {
  readonly data: Buffer;
  sentAt: number;
  transmits: number;
  sacked: boolean;
  /** acknowledgements of segments sent after this one's last transmission */
  skipped: number;
  /** order of its last transmission among all of ours */
  txOrder: number;
}

const seqAfter = (a: number, b: number): boolean => ((a - b) | 0) > 0;
const seqPlus = (a: number, n: number): number => (a + n) >>> 0;

export class UdpStream extends Duplex {
  state = UdpStreamState.Connecting;
  private readonly sealer: StreamSealer;
  private readonly ticker: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private lastHeard = Date.now();
  private lastSent = 0;
  // sending
  private sndNext = 0;
  private sndUna = 0;
  private readonly inflight = new Map<number, Segment>();
  private queue: Buffer[] = [];
  private queued = 0;
  private cwnd = 16;
  private ssthresh = RCV_WINDOW;
  private peerWindow = RCV_WINDOW;
  /** no further window cut for losses until the cumulative ack passes this */
  private recoverUntil = 0;
  private txCounter = 0;
  private lastTimeoutCut = 0;
  private srtt = 0;
  private rttvar = 0;
  private rto = 500;
  private blockedWrite: (() => void) | undefined;
  private finishing: (() => void) | undefined;
  // receiving
  private rcvNext = 0;
  private readonly outOfOrder = new Map<number, Buffer>();
  private unacked = 0;
  private ackDueAt = 0;
  private advertised = RCV_WINDOW;
  private peerFinSeq: number | undefined;

  constructor(private readonly opts: UdpStreamOptions) {
    super({ allowHalfOpen: true });
    this.sealer = new StreamSealer(opts.secretKey, opts.sid, opts.initiator);
    opts.socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onDatagram(msg, rinfo));
    opts.socket.on('error', (err: Error) => this.destroy(err));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    if (opts.initiator) this.sendControl(Kind.Syn);
  }

  /** Resolves once the handshake is done; rejects if the stream closes first. */
  ready(): Promise<void> {
    if (this.state === UdpStreamState.Open) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onClose = (): void => reject(new BurrowError('BURROW_NAT_HOLE_FAILED', 'the punched path closed before its handshake finished'));
      this.once('connect', () => {
        this.off('close', onClose);
        resolve();
      });
      this.once('close', onClose);
    });
  }

  // -- Duplex

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.pump();
    if (this.queued + this.inflight.size * UDP_STREAM_MSS < SEND_BUFFER) callback();
    else this.blockedWrite = () => callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    // FIN once everything written is acknowledged, so the peer has it all when it sees the FIN.
    this.finishing = () => {
      // Not retransmitted: sent twice, and a lost FIN still ends in the dead timer or an RST.
      this.sendControl(Kind.Fin, this.sndNext);
      this.sendControl(Kind.Fin, this.sndNext);
      callback();
    };
    this.checkFinished();
  }

  override _read(): void {
    // The reader made room: reopen a window that had closed.
    if (this.advertised < RCV_WINDOW / 4 && this.window() >= RCV_WINDOW / 4) this.sendAck();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    clearInterval(this.ticker);
    if (this.state !== UdpStreamState.Closed) {
      this.state = UdpStreamState.Closed;
      const socket = this.opts.socket;
      const { port, ip } = this.opts.peer;
      // Best effort RST (the peer's dead timer covers its loss); the socket closes once it left.
      try {
        socket.send(this.seal(Kind.Rst, 0), port, ip, () => socket.close());
      } catch {
        socket.close();
      }
    }
    this.blockedWrite?.();
    callback(err);
  }

  // -- wire

  private seal(kind: Kind, seq: number, payload?: Buffer, got = seqPlus(this.rcvNext, -1)): Buffer {
    const wnd = this.window();
    this.advertised = wnd;
    return this.sealer.seal({ kind, seq, ack: this.rcvNext, got, sack: this.sackBits(), wnd }, payload);
  }

  private transmit(datagram: Buffer): void {
    if (this.state === UdpStreamState.Closed) return;
    this.lastSent = Date.now();
    this.opts.socket.send(datagram, this.opts.peer.port, this.opts.peer.ip, () => {});
  }

  private sendControl(kind: Kind, seq = 0): void {
    this.transmit(this.seal(kind, seq));
  }

  private sendAck(got?: number): void {
    this.unacked = 0;
    this.ackDueAt = 0;
    this.transmit(this.seal(Kind.Ack, 0, undefined, got));
  }

  private window(): number {
    const unread = Math.ceil(this.readableLength / UDP_STREAM_MSS);
    return Math.max(0, RCV_WINDOW - this.outOfOrder.size - unread);
  }

  private sackBits(): number {
    let bits = 0;
    for (let i = 0; i < 32; i++) if (this.outOfOrder.has(seqPlus(this.rcvNext, i + 1))) bits |= 1 << i;
    return bits >>> 0;
  }

  // -- receiving

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const peer = this.opts.peer;
    const pkt = rinfo.address === peer.ip && rinfo.port === peer.port ? this.sealer.open(msg) : undefined;
    if (!pkt) {
      this.opts.onForeign?.(msg, rinfo);
      return;
    }
    this.lastHeard = Date.now();
    switch (pkt.kind) {
      case Kind.Syn:
        if (this.opts.initiator) return;
        this.sendControl(Kind.SynAck);
        this.established();
        return;
      case Kind.SynAck:
        if (this.opts.initiator) this.established();
        return;
      case Kind.Rst:
        // The peer closed the tunnel: an end, not a failure, for whoever uses the stream.
        this.destroy();
        return;
      case Kind.Fin:
        this.peerFinSeq = pkt.seq;
        this.checkPeerFin();
        this.sendAck();
        return;
      case Kind.Ping:
        this.sendAck();
        return;
      case Kind.Data:
        this.onAck(pkt.ack, pkt.got, pkt.sack, pkt.wnd);
        this.onData(pkt.seq, pkt.payload);
        return;
      case Kind.Ack:
        this.onAck(pkt.ack, pkt.got, pkt.sack, pkt.wnd);
        return;
      default:
        return;
    }
  }

  private established(): void {
    if (this.state !== UdpStreamState.Connecting) return;
    this.state = UdpStreamState.Open;
    this.emit('connect');
    this.pump();
  }

  private onData(seq: number, payload: Buffer): void {
    if (this.state === UdpStreamState.Connecting && !this.opts.initiator) this.established();
    if (seqAfter(this.rcvNext, seq) || seqAfter(seq, seqPlus(this.rcvNext, RCV_WINDOW - 1))) {
      this.sendAck(); // a duplicate (our ack was lost) or beyond the window
      return;
    }
    if (seq !== this.rcvNext) {
      if (!this.outOfOrder.has(seq)) this.outOfOrder.set(seq, payload);
      this.sendAck(seq); // at once: the sender learns what arrived past the gap
      return;
    }
    this.push(payload);
    this.rcvNext = seqPlus(this.rcvNext, 1);
    let next: Buffer | undefined;
    while ((next = this.outOfOrder.get(this.rcvNext)) !== undefined) {
      this.outOfOrder.delete(this.rcvNext);
      this.push(next);
      this.rcvNext = seqPlus(this.rcvNext, 1);
    }
    this.checkPeerFin();
    this.unacked += 1;
    if (this.unacked >= 2) this.sendAck();
    else if (this.ackDueAt === 0) this.ackDueAt = Date.now() + ACK_DELAY_MS;
  }

  private checkPeerFin(): void {
    if (this.peerFinSeq !== undefined && this.peerFinSeq === this.rcvNext && !this.readableEnded) {
      this.peerFinSeq = undefined;
      this.push(null);
    }
  }

  // -- sending

  private onAck(ack: number, got: number, sack: number, wnd: number): void {
    this.peerWindow = wnd;
    const now = Date.now();
    // The round trip is measured on the segment this ack answers, the first time we hear of it and
    // only if it was sent once (Karn): a cumulative jump may cover segments that waited behind a loss.
    const answered = this.inflight.get(got);
    if (answered && !answered.sacked) {
      if (answered.transmits === 1) this.sampleRtt(now - answered.sentAt);
      answered.sacked = true;
    }
    if (seqAfter(ack, this.sndUna) && !seqAfter(ack, this.sndNext)) {
      for (let s = this.sndUna; s !== ack; s = seqPlus(s, 1)) {
        this.inflight.delete(s);
        this.cwnd += this.cwnd < this.ssthresh ? 1 : 1 / this.cwnd;
      }
      this.sndUna = ack;
    }
    for (let i = 0; i < 32; i++) {
      if (sack & (1 << i)) {
        const seg = this.inflight.get(seqPlus(ack, i + 1));
        if (seg) seg.sacked = true;
      }
    }
    if (answered && seqAfter(got, this.sndUna)) this.resendSkipped(got, answered.txOrder, now);
    this.pump();
    this.releaseWriter();
    this.checkFinished();
  }

  /**
   * A segment still unacknowledged when three segments sent after it (its
   * last transmission, so a resend is not resent again for the arrivals of
   * what was already on the way) have arrived was lost: send it again now.
   */
  private resendSkipped(got: number, gotTxOrder: number, now: number): void {
    for (let s = this.sndUna; s !== got && seqAfter(got, s); s = seqPlus(s, 1)) {
      const seg = this.inflight.get(s);
      if (!seg || seg.sacked || seg.txOrder > gotTxOrder) continue;
      seg.skipped += 1;
      if (seg.skipped < 3) continue;
      // One window cut per loss episode (until the ack passes what was sent then), however many segments it lost.
      if (!seqAfter(this.recoverUntil, this.sndUna)) {
        this.ssthresh = Math.max(2, this.cwnd / 2);
        this.cwnd = this.ssthresh;
        this.recoverUntil = this.sndNext;
      }
      this.retransmit(s, seg, now);
      if (this.destroyed) return;
    }
  }

  private sampleRtt(ms: number): void {
    if (this.srtt === 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
      this.srtt = 0.875 * this.srtt + 0.125 * ms;
    }
    this.rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + 4 * this.rttvar));
  }

  private pump(): void {
    if (this.state !== UdpStreamState.Open) return;
    // A shut peer window stops new data; tick() probes it with Pings until it reopens.
    const limit = Math.min(Math.max(1, Math.floor(this.cwnd)), this.peerWindow);
    while (this.queued > 0 && this.inflight.size < limit) {
      const data = this.nextSegment(UDP_STREAM_MSS);
      const seq = this.sndNext;
      this.sndNext = seqPlus(seq, 1);
      const seg: Segment = { data, sentAt: Date.now(), transmits: 1, sacked: false, skipped: 0, txOrder: ++this.txCounter };
      this.inflight.set(seq, seg);
      this.transmit(this.seal(Kind.Data, seq, data));
      this.unacked = 0; // the data carries our ack
      this.ackDueAt = 0;
    }
  }

  private nextSegment(max: number): Buffer {
    const first = this.queue[0]!;
    if (first.length <= max) {
      this.queue.shift();
      this.queued -= first.length;
      return first;
    }
    this.queue[0] = first.subarray(max);
    this.queued -= max;
    return first.subarray(0, max);
  }

  private retransmit(seq: number, seg: Segment, now: number): void {
    seg.transmits += 1;
    seg.sentAt = now;
    seg.skipped = 0;
    seg.txOrder = ++this.txCounter;
    if (seg.transmits > MAX_TRANSMITS) {
      this.destroy(new BurrowError('BURROW_TIMEOUT', `the peer stopped acknowledging (segment sent ${MAX_TRANSMITS} times)`));
      return;
    }
    this.transmit(this.seal(Kind.Data, seq, seg.data));
  }

  private releaseWriter(): void {
    if (this.blockedWrite && this.queued + this.inflight.size * UDP_STREAM_MSS < SEND_BUFFER) {
      const release = this.blockedWrite;
      this.blockedWrite = undefined;
      release();
    }
  }

  private checkFinished(): void {
    if (this.finishing && this.queued === 0 && this.inflight.size === 0) {
      const done = this.finishing;
      this.finishing = undefined;
      done();
    }
  }

  private tick(): void {
    const now = Date.now();
    const { connectTimeoutMs = 10_000, deadAfterMs = 30_000 } = this.opts;
    if (this.state === UdpStreamState.Connecting) {
      if (now - this.startedAt > connectTimeoutMs) {
        this.destroy(new BurrowError('BURROW_NAT_HOLE_FAILED', `no handshake over the punched path within ${connectTimeoutMs} ms`));
        return;
      }
      if (this.opts.initiator && now - this.lastSent >= SYN_EVERY_MS) this.sendControl(Kind.Syn);
      return;
    }
    if (now - this.lastHeard > deadAfterMs) {
      this.destroy(new BurrowError('BURROW_TIMEOUT', `nothing from the peer for ${deadAfterMs} ms`));
      return;
    }
    let timedOut = false;
    for (const [seq, seg] of this.inflight) {
      if (seg.sacked || now - seg.sentAt < this.rto * Math.min(8, seg.transmits)) continue;
      timedOut = true;
      this.retransmit(seq, seg, now);
      if (this.destroyed) return;
    }
    if (timedOut && now - this.lastTimeoutCut >= this.rto) {
      this.lastTimeoutCut = now;
      this.ssthresh = Math.max(2, this.cwnd / 2);
      this.cwnd = 2;
    }
    if (this.ackDueAt !== 0 && now >= this.ackDueAt) this.sendAck();
    // Keep-alive, and a probe when the peer's window is shut and we have data waiting.
    if (now - this.lastSent >= KEEPALIVE_MS || (this.peerWindow === 0 && this.queued > 0 && now - this.lastSent >= this.rto)) {
      this.sendControl(Kind.Ping);
    }
  }
}
