/**
 * One KCP conversation with one UDP peer as a Node Duplex: datagrams in
 * through input(), datagrams out through the `send` callback, with frp's
 * settings (kcp-go with FEC 10/3, stream mode, nodelay 1/20/2/1, MTU 1350,
 * windows 1024). Writes wait while a send window's worth is queued; reads stop
 * taking from KCP while the consumer is full, which shrinks the window the
 * peer sees. The flush timer runs only while something is in flight or owed.
 * KCP has no close message (neither has kcp-go): end() only waits until the
 * peer has acknowledged everything; the layers above (yamux, frp) say goodbye.
 */
import { Duplex } from 'node:stream';
import { BurrowError } from '../../util/errors.js';
import { realTimers, type Timer, type Timers } from '../../util/timers.js';
import { FEC_DATA_OVERHEAD, FecDecoder, FecEncoder, readFecHeader } from './fec.js';
import { Kcp, KcpState } from './kcp.js';

/** What frp sets on every KCP connection, both sides (pkg/util/net/kcp.go). */
export const FRP_KCP = Object.freeze({
  dataShards: 10,
  parityShards: 3,
  mtu: 1350,
  sendWindow: 1024,
  receiveWindow: 1024,
  noDelay: true,
  intervalMs: 20,
  fastResend: 2,
  noCongestionWindow: true,
  stream: true,
});

/**
 * Parity is skipped for a group whose packets are further apart than this
 * (kcp-go v5.6.13's session passes a fixed 500 ms, not the RTO: a bulk
 * sender waiting for acks pauses longer than its RTO, and parity lost there
 * turns every loss into a timeout).
 */
const FEC_MAX_ENCODE_GAP_MS = 500;

/** bytes handed to the reader per push */
const READ_CHUNK = 64 * 1024;

/**
 * Counts over every session of this process, added when a session closes
 * (kcp-go keeps the like in its DefaultSnmp): what a benchmark or a status
 * page reads without holding the sessions.
 */
export const kcpTotals = { resentByTimeout: 0, resentEarly: 0, recovered: 0, sessions: 0 };

export enum KcpSessionState {
  Open = 'open',
  Closed = 'closed',
}

export interface KcpSessionOptions {
  conv: number;
  /** sends one datagram to the peer; must not throw */
  send: (datagram: Buffer) => void;
  /** for messages */
  remote: string;
  timers?: Timers;
  /** nothing received for this long closes the session; 0 = never */
  idleTimeoutMs?: number;
}

export class KcpSession extends Duplex {
  state = KcpSessionState.Open;
  readonly conv: number;
  readonly remote: string;
  /** datagrams dropped: not FEC-framed, another conversation, malformed segments */
  malformed = 0;
  private readonly kcp: Kcp;
  private readonly fecOut: FecEncoder;
  private readonly fecIn: FecDecoder;
  private readonly timers: Timers;
  private readonly send: (datagram: Buffer) => void;
  private flushTimer: Timer | undefined;
  private idleTimer: Timer | undefined;
  private flushQueued = false;
  private wantRead = false;
  /** a write held until the send queue drops below the window */
  private heldWrite: ((err?: Error | null) => void) | undefined;
  private heldFinal: ((err?: Error | null) => void) | undefined;

  constructor(o: KcpSessionOptions) {
    super({ allowHalfOpen: true });
    this.conv = o.conv >>> 0;
    this.remote = o.remote;
    this.send = o.send;
    this.timers = o.timers ?? realTimers;
    const now = (): number => this.timers.now();
    this.fecOut = new FecEncoder(FRP_KCP.dataShards, FRP_KCP.parityShards, now);
    this.fecIn = new FecDecoder(FRP_KCP.dataShards, FRP_KCP.parityShards);
    this.kcp = new Kcp({
      conv: this.conv,
      now,
      headroom: FEC_DATA_OVERHEAD,
      mtu: FRP_KCP.mtu,
      sendWindow: FRP_KCP.sendWindow,
      receiveWindow: FRP_KCP.receiveWindow,
      noDelay: FRP_KCP.noDelay,
      intervalMs: FRP_KCP.intervalMs,
      fastResend: FRP_KCP.fastResend,
      noCongestionWindow: FRP_KCP.noCongestionWindow,
      stream: FRP_KCP.stream,
      output: (datagram) => {
        for (const d of this.fecOut.encode(datagram, FEC_MAX_ENCODE_GAP_MS)) this.send(d);
      },
    });
    const idle = o.idleTimeoutMs ?? 0;
    if (idle > 0) {
      this.idleTimer = this.timers.setTimeout(
        () => this.destroy(new BurrowError('BURROW_TIMEOUT', `KCP peer ${this.remote} sent nothing for ${Math.round(idle / 1000)} s`)),
        idle,
      );
      this.idleTimer.unref();
    }
  }

  /** Segments sent again so far (timeouts, early resends). */
  get resent(): { timeout: number; early: number } {
    return { timeout: this.kcp.resentByTimeout, early: this.kcp.resentEarly };
  }

  /** Datagrams rebuilt from parity so far. */
  get recovered(): number {
    return this.fecIn.recoveredCount;
  }

  /** One datagram from the peer. Anything malformed is counted and dropped, never thrown. */
  input(datagram: Buffer): void {
    if (this.state !== KcpSessionState.Open) return;
    const header = readFecHeader(datagram);
    if (!header) {
      this.malformed++;
      return;
    }
    const { payload, recovered } = this.fecIn.decode(datagram, header);
    let good = false;
    if (payload) {
      if (this.kcp.input(payload, true) === 'ok') good = true;
      else this.malformed++;
    }
    for (const r of recovered) if (this.kcp.input(r, false) === 'ok') good = true;
    if (good) this.idleTimer?.refresh();
    this.afterActivity();
  }

  override _read(): void {
    this.wantRead = true;
    this.deliver();
    this.afterActivity();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.state !== KcpSessionState.Open) {
      callback(new BurrowError('BURROW_CLOSED', `KCP session with ${this.remote} is closed`));
      return;
    }
    this.kcp.send(chunk);
    this.queueFlush();
    if (this.kcp.waitingToSend < this.kcp.sendWindow) callback();
    else this.heldWrite = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.heldFinal = callback;
    this.queueFlush();
    this.afterActivity();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.state = KcpSessionState.Closed;
    kcpTotals.resentByTimeout += this.kcp.resentByTimeout;
    kcpTotals.resentEarly += this.kcp.resentEarly;
    kcpTotals.recovered += this.fecIn.recoveredCount;
    kcpTotals.sessions++;
    this.flushTimer?.close();
    this.idleTimer?.close();
    this.flushTimer = undefined;
    const closed = err ?? new BurrowError('BURROW_CLOSED', `KCP session with ${this.remote} is closed`);
    this.heldWrite?.(closed);
    this.heldFinal?.(closed);
    this.heldWrite = undefined;
    this.heldFinal = undefined;
    callback(err);
  }

  /** Writes in one turn of the event loop share one flush (and so their datagrams). */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (this.state !== KcpSessionState.Open) return;
      this.kcp.flush();
      this.afterActivity();
    });
  }

  private deliver(): void {
    while (this.wantRead) {
      const chunk = this.kcp.receive(READ_CHUNK);
      if (!chunk) return;
      this.wantRead = this.push(chunk);
    }
  }

  /** After input, a flush or a read: hand over data, release waiting writers, keep the timer only while needed. */
  private afterActivity(): void {
    if (this.state !== KcpSessionState.Open) return;
    if (this.kcp.state === KcpState.Dead) {
      this.destroy(new BurrowError('BURROW_TIMEOUT', `KCP peer ${this.remote} stopped acknowledging (link dead)`));
      return;
    }
    this.deliver();
    if (this.heldWrite && this.kcp.waitingToSend < this.kcp.sendWindow) {
      const cb = this.heldWrite;
      this.heldWrite = undefined;
      cb();
    }
    if (this.heldFinal && this.kcp.waitingToSend === 0) {
      const cb = this.heldFinal;
      this.heldFinal = undefined;
      cb();
    }
    if (this.kcp.busy && !this.flushTimer) {
      this.flushTimer = this.timers.setTimeout(() => {
        this.flushTimer = undefined;
        if (this.state !== KcpSessionState.Open) return;
        this.kcp.flush();
        this.afterActivity();
      }, this.kcp.intervalMs);
    }
  }
}
