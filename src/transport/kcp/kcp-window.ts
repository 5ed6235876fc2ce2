/**
 * The sender's window control, apart from the peer's advertised window.
 *
 * KCP's congestion window (ikcp's, as kcp-go runs it when `nc` is 0): slow
 * start up to ssthresh, then additive increase in bytes; a fast resend halves
 * it to what is in flight, a timeout drops it to one segment. frp turns it
 * off (nc = 1); it is here so other settings behave as kcp-go. Pure.
 */

import { diff } from './kcp-wire.js';

const SSTHRESH_MIN = 2;
const PROBE_INITIAL = 7_000;
const PROBE_LIMIT = 120_000;

export class CongestionWindow {
  /** segments the window allows in flight */
  cwnd = 0;
  private ssthresh = 2;
  private incr = 0;

  constructor(private readonly mss: number) {}

  /** New data was acknowledged; never above the peer's free window. */
  grow(remoteWindow: number): void {
    if (this.cwnd >= remoteWindow) return;
    const mss = this.mss;
    if (this.cwnd < this.ssthresh) {
      this.cwnd++;
      this.incr += mss;
    } else {
      if (this.incr < mss) this.incr = mss;
      this.incr += Math.floor((mss * mss) / this.incr) + Math.floor(mss / 16);
      if ((this.cwnd + 1) * mss <= this.incr) this.cwnd = Math.ceil(this.incr / mss);
    }
    if (this.cwnd > remoteWindow) {
      this.cwnd = remoteWindow;
      this.incr = remoteWindow * mss;
    }
  }

  /**
   * After a flush: `inFlight` segments unacknowledged, `window` the window it
   * used, `fastResendAfter` the fast-resend threshold (0 = off).
   */
  afterFlush(fastResent: boolean, lost: boolean, inFlight: number, window: number, fastResendAfter: number): void {
    if (fastResent) {
      this.ssthresh = Math.max(SSTHRESH_MIN, Math.floor(inFlight / 2));
      this.cwnd = this.ssthresh + fastResendAfter;
      this.incr = this.cwnd * this.mss;
    }
    if (lost) {
      this.ssthresh = Math.max(SSTHRESH_MIN, Math.floor(window / 2));
      this.cwnd = 1;
      this.incr = this.mss;
    }
    if (this.cwnd < 1) {
      this.cwnd = 1;
      this.incr = this.mss;
    }
  }
}

/** A zero remote window is probed after 7 s, then ×1.5 up to 120 s (ikcp's schedule). */
export class ZeroWindowProbe {
  private probeAt = 0;
  private probeWait = 0;

  /** Called on every flush; true when a window ask is due now. */
  due(remoteWindow: number, now: number): boolean {
    if (remoteWindow !== 0) {
      this.probeAt = 0;
      this.probeWait = 0;
      return false;
    }
    if (this.probeWait === 0) {
      this.probeWait = PROBE_INITIAL;
      this.probeAt = now + this.probeWait;
      return false;
    }
    if (diff(now, this.probeAt) < 0) return false;
    this.probeWait = Math.min(PROBE_LIMIT, Math.max(PROBE_INITIAL, this.probeWait) * 1.5);
    this.probeAt = now + this.probeWait;
    return true;
  }
}
