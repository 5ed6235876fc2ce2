import type { RemoteInfo, Socket } from 'node:dgram';
import { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import type { UdpPeer } from './punch.js';
import { SendWindow, UDP_STREAM_MSS } from './udp-send-window.js';
import { Kind, StreamSealer, seqAfter, seqPlus } from './udp-stream-wire.js';

/**
 * A reliable, ordered, encrypted byte stream over one punched UDP path: the
 * data path of burrow's xtcp (frp uses QUIC or KCP there, see docs/xtcp.md).
 *
 * Datagrams are sealed per src/nathole/udp-stream-wire.ts. Sender: the
 * SendWindow (udp-send-window.ts: congestion control, resends); this file is
 * the socket glue, the handshake and the receiver: in-order delivery,
 * out-of-order buffer, delayed acks.
 */

const RCV_WINDOW = 512;
const TICK_MS = 10;
const ACK_DELAY_MS = 5;
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

export class UdpStream extends Duplex {
  state = UdpStreamState.Connecting;
  private readonly sealer: StreamSealer;
  private readonly ticker: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private lastHeard = Date.now();
  private lastSent = 0;
  // sending
  private readonly sender = new SendWindow(
    {
      sendData: (seq, data) => this.transmit(this.seal(Kind.Data, seq, data)),
      fail: (err) => this.destroy(err),
      isDestroyed: () => this.destroyed,
    },
    RCV_WINDOW,
  );
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
    this.sender.enqueue(chunk);
    this.pump();
    if (this.sender.hasRoom) callback();
    else this.blockedWrite = () => callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    // FIN once everything written is acknowledged, so the peer has it all when it sees the FIN.
    this.finishing = () => {
      // Not retransmitted: sent twice, and a lost FIN still ends in the dead timer or an RST.
      this.sendControl(Kind.Fin, this.sender.nextSeq);
      this.sendControl(Kind.Fin, this.sender.nextSeq);
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
    this.sender.onAck(ack, got, sack, wnd);
    this.pump();
    this.releaseWriter();
    this.checkFinished();
  }

  private pump(): void {
    if (this.state !== UdpStreamState.Open) return;
    if (this.sender.pump() > 0) {
      this.unacked = 0; // the data carries our ack
      this.ackDueAt = 0;
    }
  }

  private releaseWriter(): void {
    if (this.blockedWrite && this.sender.hasRoom) {
      const release = this.blockedWrite;
      this.blockedWrite = undefined;
      release();
    }
  }

  private checkFinished(): void {
    if (this.finishing && this.sender.idle) {
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
    this.sender.resendTimedOut(now);
    if (this.destroyed) return;
    if (this.ackDueAt !== 0 && now >= this.ackDueAt) this.sendAck();
    // Keep-alive, and a probe when the peer's window is shut and we have data waiting.
    if (now - this.lastSent >= KEEPALIVE_MS || (this.sender.blockedByPeer && now - this.lastSent >= this.sender.rto)) {
      this.sendControl(Kind.Ping);
    }
  }
}
