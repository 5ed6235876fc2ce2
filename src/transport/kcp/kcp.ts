/**
 * The KCP ARQ (the protocol of skywind3000's ikcp, as kcp-go v5 speaks it):
 * 24-byte little-endian segment headers (conv 4, cmd 1, frg 1, wnd 2, ts 4,
 * sn 4, una 4, len 4), commands push/ack/wask/wins, cumulative `una` plus
 * selective acks, fast resend after `fastResend` later acks, RTO from an
 * RFC 6298-like estimator, send and receive windows, stream mode (segments
 * filled up to the MSS, frg always 0). Several segments share one datagram,
 * up to the MTU. Pure: the caller feeds datagrams in, drains received bytes,
 * calls flush() on its timer and passes `now()` in milliseconds.
 */

import { DatagramWriter, diff, KCP_OVERHEAD, KcpCmd, readSegmentHeader, writeSegmentHeader } from './kcp-wire.js';

import { CongestionWindow, ZeroWindowProbe } from './kcp-window.js';
import { RtoEstimator } from './kcp-rto.js';

export { KCP_OVERHEAD, KcpCmd } from './kcp-wire.js';

/** a segment sent this many times without an ack: the peer is gone */
const DEAD_LINK_XMIT = 20;
/** sn/ts numbers owed as acks between two flushes */
const ACK_LIST_MAX = 8192;

export enum KcpState {
  Open = 'open',
  /** a segment reached the resend limit; nothing more is sent */
  Dead = 'dead',
}

export interface KcpOptions {
  conv: number;
  /** gets each datagram's worth of segments; `headroom` spare bytes come first */
  output: (datagram: Buffer) => void;
  now: () => number;
  /** bytes left free in front of each datagram (for the FEC header) */
  headroom?: number;
  mtu?: number;
  sendWindow?: number;
  receiveWindow?: number;
  /** nodelay(nodelay, interval, resend, nc) as ikcp names it */
  noDelay?: boolean;
  intervalMs?: number;
  fastResend?: number;
  noCongestionWindow?: boolean;
  stream?: boolean;
}

interface Segment {
  sn: number;
  frg: number;
  ts: number;
  data: Buffer;
  rto: number;
  resendAt: number;
  xmit: number;
  fastAck: number;
  /** resent early once: not again before its timeout (later acks keep coming for a whole window) */
  fastHeld: boolean;
}

export type KcpInputResult = 'ok' | 'short' | 'conv' | 'length' | 'cmd';

export class Kcp {
  readonly conv: number;
  state = KcpState.Open;
  /** segments sent again: by timeout, and early (later ones were acknowledged) */
  resentByTimeout = 0;
  resentEarly = 0;
  readonly mtu: number;
  readonly mss: number;
  readonly sendWindow: number;
  readonly receiveWindow: number;
  readonly intervalMs: number;
  private readonly output: (datagram: Buffer) => void;
  private readonly now: () => number;
  private readonly headroom: number;
  private readonly noDelay: boolean;
  private readonly fastResend: number;
  private readonly noCwnd: boolean;
  private readonly stream: boolean;

  private sndUna = 0;
  private sndNxt = 0;
  private rcvNxt = 0;
  private readonly rtt: RtoEstimator;
  /** the peer's free receive window, from its last header */
  remoteWindow: number;
  private readonly cwnd: CongestionWindow;
  private probeAsk = false;
  private probeTell = false;
  private readonly probe = new ZeroWindowProbe();
  /** when an ack last took a segment off the send buffer (first sends time out from here at the earliest) */
  private lastAckAt = 0;

  private sndQueue: Segment[] = [];
  private sndBuf: Segment[] = [];
  private rcvBuf: Segment[] = [];
  private rcvQueue: Buffer[] = [];
  /** sn, ts pairs to acknowledge at the next flush */
  private ackList: number[] = [];

  constructor(o: KcpOptions) {
    this.conv = o.conv >>> 0;
    this.output = o.output;
    this.now = o.now;
    this.headroom = o.headroom ?? 0;
    this.mtu = o.mtu ?? 1400;
    this.mss = this.mtu - KCP_OVERHEAD;
    this.sendWindow = o.sendWindow ?? 32;
    this.receiveWindow = o.receiveWindow ?? 128;
    this.remoteWindow = this.receiveWindow;
    this.noDelay = o.noDelay ?? false;
    this.intervalMs = Math.min(5000, Math.max(10, o.intervalMs ?? 100));
    this.rtt = new RtoEstimator(this.noDelay, this.intervalMs);
    this.cwnd = new CongestionWindow(this.mss);
    this.fastResend = o.fastResend ?? 0;
    this.noCwnd = o.noCongestionWindow ?? false;
    this.stream = o.stream ?? false;
  }

  /** The current retransmission timeout in ms. */
  get rto(): number {
    return this.rtt.rto;
  }

  /** Segments queued or in flight: the writer waits while this is at a window. */
  get waitingToSend(): number {
    return this.sndQueue.length + this.sndBuf.length;
  }

  /** True while something needs the flush timer: data in flight or queued, acks owed, a window probe. */
  get busy(): boolean {
    return this.waitingToSend > 0 || this.ackList.length > 0 || this.probeAsk || this.probeTell || this.remoteWindow === 0;
  }

  /** Bytes received in order, not yet taken. */
  get readableSegments(): number {
    return this.rcvQueue.length;
  }

  /** Queues bytes (stream mode tops up the last queued segment first). */
  send(data: Buffer): void {
    let rest = data;
    if (this.stream && rest.length > 0) {
      const last = this.sndQueue[this.sndQueue.length - 1];
      if (last && last.data.length < this.mss) {
        const take = Math.min(this.mss - last.data.length, rest.length);
        last.data = Buffer.concat([last.data, rest.subarray(0, take)]);
        rest = rest.subarray(take);
      }
    }
    while (rest.length > 0) {
      const size = Math.min(this.mss, rest.length);
      // Copied: the caller may reuse its buffer once write() calls back.
      this.sndQueue.push({ sn: 0, frg: 0, ts: 0, data: Buffer.from(rest.subarray(0, size)), rto: 0, resendAt: 0, xmit: 0, fastAck: 0, fastHeld: false });
      rest = rest.subarray(size);
    }
  }

  /** Takes up to `max` bytes of in-order data (stream mode), or undefined when none is ready. */
  receive(max: number): Buffer | undefined {
    if (this.rcvQueue.length === 0) return undefined;
    const wasFull = this.rcvQueue.length >= this.receiveWindow;
    const parts: Buffer[] = [];
    let size = 0;
    while (this.rcvQueue.length > 0 && size < max) {
      const head = this.rcvQueue[0] as Buffer;
      if (size + head.length > max) {
        parts.push(head.subarray(0, max - size));
        this.rcvQueue[0] = head.subarray(max - size);
        size = max;
        break;
      }
      parts.push(head);
      size += head.length;
      this.rcvQueue.shift();
    }
    this.moveReceived();
    // The peer saw a zero window: tell it there is room again.
    if (wasFull && this.rcvQueue.length < this.receiveWindow) this.probeTell = true;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
  }

  /**
   * One datagram's KCP bytes (after the FEC header). `regular` is false for
   * data rebuilt from parity: its window field and timestamps are old.
   * Anything malformed stops the parse; segments before it were applied.
   */
  input(data: Buffer, regular: boolean): KcpInputResult {
    if (data.length < KCP_OVERHEAD) return 'short';
    const unaBefore = this.sndUna;
    let latestAckTs: number | undefined;
    let windowSlid = false;
    let offset = 0;
    while (data.length - offset >= KCP_OVERHEAD) {
      const { conv, cmd, frg, wnd, ts, sn, una, len } = readSegmentHeader(data, offset);
      if (conv !== this.conv) return 'conv';
      offset += KCP_OVERHEAD;
      if (data.length - offset < len) return 'length';
      if (cmd < KcpCmd.Push || cmd > KcpCmd.WindowTell) return 'cmd';
      if (regular) this.remoteWindow = wnd;
      if (this.acknowledgeUpTo(una)) windowSlid = true;
      if (cmd === KcpCmd.Ack) {
        this.acknowledge(sn, ts);
        latestAckTs = ts;
      } else if (cmd === KcpCmd.Push) {
        if (diff(sn, this.rcvNxt + this.receiveWindow) < 0) {
          // Bounded: a flood of duplicates between two flushes cannot grow it; the peer resends what goes unacked.
          if (this.ackList.length < ACK_LIST_MAX) this.ackList.push(sn, ts);
          if (diff(sn, this.rcvNxt) >= 0) this.store(sn, frg, ts, data.subarray(offset, offset + len));
        }
      } else if (cmd === KcpCmd.WindowAsk) {
        this.probeTell = true;
      }
      offset += len;
    }
    if (latestAckTs !== undefined && regular) {
      const rtt = diff(this.now() >>> 0, latestAckTs);
      if (rtt >= 0) this.rtt.sample(rtt);
    }
    if (!this.noCwnd && diff(this.sndUna, unaBefore) > 0) this.cwnd.grow(this.remoteWindow);
    if (windowSlid) this.flush();
    return 'ok';
  }

  /** Sends owed acks, window probes, new segments within the windows, and resends; call every interval. */
  flush(): void {
    if (this.state === KcpState.Dead) return;
    const now = this.now() >>> 0;
    const wnd = this.receiveWindow > this.rcvQueue.length ? this.receiveWindow - this.rcvQueue.length : 0;
    const writer = new DatagramWriter(this.mtu, this.headroom, this.output);
    const header = (cmd: number, sn: number, ts: number, len: number): Buffer => {
      const h = writer.take(KCP_OVERHEAD + len);
      writeSegmentHeader(h, { conv: this.conv, cmd, frg: 0, wnd, ts, sn, una: this.rcvNxt, len });
      return h;
    };

    const acks = this.ackList;
    this.ackList = [];
    for (let i = 0; i < acks.length; i += 2) {
      const sn = acks[i] as number;
      // Acks below rcvNxt are covered by una, except the last (it carries the newest ts).
      if (diff(sn, this.rcvNxt) >= 0 || i === acks.length - 2) header(KcpCmd.Ack, sn, acks[i + 1] as number, 0);
    }

    if (this.probe.due(this.remoteWindow, now)) this.probeAsk = true;
    if (this.probeAsk) header(KcpCmd.WindowAsk, 0, 0, 0);
    if (this.probeTell) header(KcpCmd.WindowTell, 0, 0, 0);
    this.probeAsk = false;
    this.probeTell = false;

    let window = Math.min(this.sendWindow, this.remoteWindow);
    if (!this.noCwnd) window = Math.min(this.cwnd.cwnd, window);
    let fresh = 0;
    while (this.sndQueue.length > 0 && diff(this.sndNxt, this.sndUna + window) < 0) {
      const seg = this.sndQueue.shift() as Segment;
      seg.sn = this.sndNxt;
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      this.sndBuf.push(seg);
      fresh++;
    }

    const resendAfter = this.fastResend > 0 ? this.fastResend : Number.POSITIVE_INFINITY;
    let fastResent = false;
    let lost = false;
    let current = now;
    for (const seg of this.sndBuf) {
      if (seg.xmit === 0) {
        seg.rto = this.rtt.rto;
      } else if (!seg.fastHeld && (seg.fastAck >= resendAfter || (seg.fastAck > 0 && fresh === 0))) {
        // Later segments were acked: this one was probably lost. Resent once;
        // again only by timeout (as kcp-go after v5.6.13: with a full window,
        // every ack batch would otherwise send it again).
        seg.fastAck = 0;
        seg.fastHeld = true;
        seg.rto = this.rtt.rto;
        fastResent = true;
        this.resentEarly++;
      } else if (diff(current, this.timeoutAt(seg)) >= 0) {
        seg.rto += this.noDelay ? Math.floor(this.rtt.rto / 2) : this.rtt.rto;
        seg.fastAck = 0;
        seg.fastHeld = false;
        lost = true;
        this.resentByTimeout++;
      } else {
        continue;
      }
      // The time each segment really leaves (as kcp-go): sending a full window
      // takes a while, and a stamp from the flush's start would make its tail
      // look slow (RTT samples) and time out early (resendAt).
      current = this.now() >>> 0;
      seg.resendAt = current + seg.rto;
      seg.xmit++;
      seg.ts = current;
      const h = header(KcpCmd.Push, seg.sn, current, seg.data.length);
      h[5] = seg.frg;
      seg.data.copy(h, KCP_OVERHEAD);
      if (seg.xmit >= DEAD_LINK_XMIT) this.state = KcpState.Dead;
    }
    writer.end();

    if (!this.noCwnd) this.cwnd.afterFlush(fastResent, lost, diff(this.sndNxt, this.sndUna), window, Math.max(0, this.fastResend));
  }

  /**
   * When a segment times out. A first send waits at least an RTO after the
   * last ack that freed a segment (unlike kcp-go; TCP restarts its one timer
   * on every new ack the same way): a window leaves in one burst, and while
   * its acks are still coming in, the tail is queued behind them, not lost.
   * Resends keep their own deadline, so a resend lost again is not held up
   * by the acks of the rest of the window; a silent peer stops the acks and
   * so times out as before.
   */
  private timeoutAt(seg: Segment): number {
    if (seg.xmit !== 1) return seg.resendAt;
    const afterAck = (this.lastAckAt + seg.rto) >>> 0;
    return diff(afterAck, seg.resendAt) > 0 ? afterAck : seg.resendAt;
  }

  /** Drops every in-flight segment below `una`; true when any was dropped. */
  private acknowledgeUpTo(una: number): boolean {
    let n = 0;
    while (n < this.sndBuf.length && diff(una, (this.sndBuf[n] as Segment).sn) > 0) n++;
    if (n > 0) {
      this.sndBuf.splice(0, n);
      this.lastAckAt = this.now() >>> 0;
    }
    this.sndUna = this.sndBuf.length > 0 ? (this.sndBuf[0] as Segment).sn : this.sndNxt;
    return n > 0;
  }

  private acknowledge(sn: number, ts: number): void {
    if (diff(sn, this.sndUna) < 0 || diff(sn, this.sndNxt) >= 0) return;
    for (let i = 0; i < this.sndBuf.length; i++) {
      const seg = this.sndBuf[i] as Segment;
      if (seg.sn === sn) {
        this.sndBuf.splice(i, 1);
        this.lastAckAt = this.now() >>> 0;
        break;
      }
      if (diff(sn, seg.sn) < 0) break;
      // A later segment (sent no earlier than this one) got through: count towards fast resend.
      if (!seg.fastHeld && diff(seg.ts, ts) <= 0) seg.fastAck++;
    }
    this.sndUna = this.sndBuf.length > 0 ? (this.sndBuf[0] as Segment).sn : this.sndNxt;
  }

  private store(sn: number, frg: number, ts: number, data: Buffer): void {
    let at = this.rcvBuf.length;
    for (let i = this.rcvBuf.length - 1; i >= 0; i--) {
      const seg = this.rcvBuf[i] as Segment;
      if (seg.sn === sn) return;
      if (diff(sn, seg.sn) > 0) break;
      at = i;
    }
    // Copied: the datagram buffer belongs to the socket layer.
    this.rcvBuf.splice(at, 0, { sn, frg, ts, data: Buffer.from(data), rto: 0, resendAt: 0, xmit: 0, fastAck: 0, fastHeld: false });
    this.moveReceived();
  }

  /** In-order segments move from the reorder buffer to the receive queue while the queue has room. */
  private moveReceived(): void {
    let n = 0;
    while (n < this.rcvBuf.length && (this.rcvBuf[n] as Segment).sn === this.rcvNxt && this.rcvQueue.length < this.receiveWindow) {
      this.rcvQueue.push((this.rcvBuf[n] as Segment).data);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      n++;
    }
    if (n > 0) this.rcvBuf.splice(0, n);
  }
}
