import { BurrowError } from '../util/errors.js';
import { WIRE_OVERHEAD, seqAfter, seqPlus } from './udp-stream-wire.js';

/**
 * The sending half of burrow's xtcp stream (udp-stream.ts): what was written
 * and not yet acknowledged, and when to send it (again). Sliding window with
 * AIMD congestion control; a segment is sent again when three later ones were
 * acknowledged (as KCP's fast resend) or on timeout (RFC 6298 estimator).
 * It knows its stream only through SendHost.
 */

/** payload per datagram: with our 47 bytes and IP/UDP it stays under the 1280 bytes every IPv6 path carries */
export const UDP_STREAM_MSS = 1280 - 48 - WIRE_OVERHEAD;
const SEND_BUFFER = 1024 * 1024;
const MIN_RTO_MS = 40;
const MAX_RTO_MS = 8000;
const MAX_TRANSMITS = 12;

/** The few calls the window needs from its stream. */
export interface SendHost {
  /** seal and send one data segment (a first transmission or a resend) */
  sendData(seq: number, data: Buffer): void;
  /** the peer stopped acknowledging: end the stream with this error */
  fail(err: BurrowError): void;
  /** true once the stream is destroyed (fail() does that at once) */
  isDestroyed(): boolean;
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

export class SendWindow {
  private sndNext = 0;
  private sndUna = 0;
  private readonly inflight = new Map<number, Segment>();
  private queue: Buffer[] = [];
  private queued = 0;
  private cwnd = 16;
  private ssthresh: number;
  private peerWindow: number;
  /** no further window cut for losses until the cumulative ack passes this */
  private recoverUntil = 0;
  private txCounter = 0;
  private lastTimeoutCut = 0;
  private srtt = 0;
  private rttvar = 0;
  private rtoMs = 500;

  /** `window`: the receive window both sides start with, in segments */
  constructor(
    private readonly host: SendHost,
    window: number,
  ) {
    this.ssthresh = window;
    this.peerWindow = window;
  }

  /** the sequence number the next new segment gets (a FIN carries it) */
  get nextSeq(): number {
    return this.sndNext;
  }

  /** the current retransmission timeout, ms */
  get rto(): number {
    return this.rtoMs;
  }

  /** nothing queued and nothing unacknowledged */
  get idle(): boolean {
    return this.queued === 0 && this.inflight.size === 0;
  }

  /** below the send buffer: the writer may go on */
  get hasRoom(): boolean {
    return this.queued + this.inflight.size * UDP_STREAM_MSS < SEND_BUFFER;
  }

  /** the peer's window is shut while data waits: the stream probes it */
  get blockedByPeer(): boolean {
    return this.peerWindow === 0 && this.queued > 0;
  }

  enqueue(chunk: Buffer): void {
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /** Sends what the windows allow; returns how many new segments went out. */
  pump(): number {
    let sent = 0;
    // A shut peer window stops new data; the stream probes it with Pings until it reopens.
    const limit = Math.min(Math.max(1, Math.floor(this.cwnd)), this.peerWindow);
    while (this.queued > 0 && this.inflight.size < limit) {
      const data = this.nextSegment(UDP_STREAM_MSS);
      const seq = this.sndNext;
      this.sndNext = seqPlus(seq, 1);
      const seg: Segment = { data, sentAt: Date.now(), transmits: 1, sacked: false, skipped: 0, txOrder: ++this.txCounter };
      this.inflight.set(seq, seg);
      this.host.sendData(seq, data);
      sent += 1;
    }
    return sent;
  }

  /** An acknowledgement from the peer: its cumulative ack, the segment it answers, its SACK bits and window. */
  onAck(ack: number, got: number, sack: number, wnd: number): void {
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
  }

  /** Sends again what waited past its timeout; the window shrinks once per timeout. */
  resendTimedOut(now: number): void {
    let timedOut = false;
    for (const [seq, seg] of this.inflight) {
      if (seg.sacked || now - seg.sentAt < this.rtoMs * Math.min(8, seg.transmits)) continue;
      timedOut = true;
      this.retransmit(seq, seg, now);
      if (this.host.isDestroyed()) return;
    }
    if (timedOut && now - this.lastTimeoutCut >= this.rtoMs) {
      this.lastTimeoutCut = now;
      this.ssthresh = Math.max(2, this.cwnd / 2);
      this.cwnd = 2;
    }
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
      if (this.host.isDestroyed()) return;
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
    this.rtoMs = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + 4 * this.rttvar));
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
      this.host.fail(new BurrowError('BURROW_TIMEOUT', `the peer stopped acknowledging (segment sent ${MAX_TRANSMITS} times)`));
      return;
    }
    this.host.sendData(seq, seg.data);
  }
}
