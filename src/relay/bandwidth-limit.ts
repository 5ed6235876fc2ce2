/**
 * `transport.bandwidthLimit` with `bandwidthLimitMode = "client"`, as frpc
 * enforces it: one token bucket per proxy, `bytesPerSecond` tokens a second
 * and a burst of one second's worth (frp's rate.Limiter with burst = limit),
 * full at the start. Every work connection of the proxy draws from it in both
 * directions: bytes read from the server and bytes written to it (frp wraps
 * the work connection in a limited reader and writer that share the limiter),
 * so an echo of N bytes costs 2N.
 *
 * Only proxies with a limit are wrapped: the plain relay path is untouched.
 */
import { Duplex } from 'node:stream';
import type { BandwidthBucket } from '../util/bandwidth-bucket.js';
import { realTimers, type Timer, type Timers } from '../util/timers.js';

/**
 * The token bucket. Reservations may take it below zero: the caller then
 * waits until the debt is paid, and later callers queue behind it (Go's
 * Reserve). Each connection direction holds at most one reservation of at
 * most one burst at a time, so the debt is bounded by the connections.
 */
export class BandwidthLimiter implements BandwidthBucket {
  /** the most bytes one reservation takes: frp's burst (one second of traffic) */
  readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly timers: Timers = realTimers,
  ) {
    if (!(bytesPerSecond >= 1)) throw new RangeError(`bandwidth limit must be at least 1 byte/s, got ${bytesPerSecond}`);
    this.burst = Math.floor(bytesPerSecond);
    this.tokens = this.burst;
    this.last = timers.now();
  }

  /** Takes `bytes` (at most `burst`) and returns how many ms to wait before they may pass (0 = now). */
  reserve(bytes: number): number {
    const now = this.timers.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.bytesPerSecond) / 1000);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }

  /** Timers for the waits of the connections it limits. */
  get clock(): Timers {
    return this.timers;
  }
}

/**
 * `inner` with both directions paced by `limiter`. Back-pressure holds: a
 * chunk read from `inner` pauses it until its last piece has been pushed and
 * our reader wants more; a write completes only once its last piece has gone
 * to `inner` and `inner` has room. Nothing is buffered beyond the chunk in
 * hand, and a timer runs only while a piece waits for its tokens.
 */
export function limitBandwidth(inner: Duplex, limiter: BandwidthBucket): Duplex {
  return new LimitedDuplex(inner, limiter);
}

/** One chunk being let through piece by piece. */
interface Paced {
  chunk: Buffer;
  offset: number;
}

class LimitedDuplex extends Duplex {
  private reading: Paced | undefined;
  private writing: (Paced & { callback: (err?: Error | null) => void }) | undefined;
  private readTimer: Timer | undefined;
  private writeTimer: Timer | undefined;
  /** our reader asked for data while a chunk was still being paced */
  private wantsData = false;
  private innerEnded = false;
  private waitingDrain = false;

  constructor(
    private readonly inner: Duplex,
    private readonly limiter: BandwidthBucket,
  ) {
    super({ allowHalfOpen: true });
    inner.pause();
    inner.on('data', (chunk: Buffer) => this.onInnerData(chunk));
    inner.on('drain', () => this.onInnerDrain());
    inner.once('end', () => {
      this.innerEnded = true;
      if (!this.reading) this.push(null);
    });
    inner.on('error', (err: Error) => this.destroy(err));
    inner.once('close', () => this.onInnerClose());
    if (inner.readableEnded) {
      this.innerEnded = true;
      this.push(null);
    }
  }

  override _read(): void {
    if (this.reading) {
      this.wantsData = true;
      return;
    }
    if (!this.inner.destroyed) this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writing = { chunk, offset: 0, callback };
    this.paceWrite();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.inner.writableFinished) {
      callback();
      return;
    }
    this.inner.end((err?: Error | null) => callback(err ?? null));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.readTimer?.close();
    this.writeTimer?.close();
    this.reading = undefined;
    const pending = this.writing;
    this.writing = undefined;
    pending?.callback(err);
    if (!this.inner.destroyed) this.inner.destroy(err ?? undefined);
    callback(err);
  }

  private onInnerData(chunk: Buffer): void {
    this.inner.pause();
    this.reading = { chunk, offset: 0 };
    this.wantsData = false;
    this.paceRead();
  }

  /** Pushes the chunk in hand piece by piece, each once its tokens are there. */
  private paceRead(): void {
    const r = this.reading;
    if (!r || this.destroyed) return;
    const size = Math.min(this.limiter.burst, r.chunk.length - r.offset);
    const wait = this.limiter.reserve(size);
    const pushPiece = (): void => {
      this.readTimer = undefined;
      if (this.destroyed || this.reading !== r) return;
      const piece = r.chunk.subarray(r.offset, r.offset + size);
      r.offset += size;
      const more = this.push(piece);
      if (r.offset < r.chunk.length) {
        this.paceRead();
        return;
      }
      this.reading = undefined;
      if (this.innerEnded) this.push(null);
      else if (more || this.wantsData) this.inner.resume();
    };
    if (wait === 0) pushPiece();
    else this.readTimer = this.limiter.clock.setTimeout(pushPiece, wait);
  }

  /** Writes the chunk in hand piece by piece, each once its tokens are there. */
  private paceWrite(): void {
    const w = this.writing;
    if (!w || this.destroyed) return;
    const size = Math.min(this.limiter.burst, w.chunk.length - w.offset);
    const wait = this.limiter.reserve(size);
    const writePiece = (): void => {
      this.writeTimer = undefined;
      if (this.destroyed || this.writing !== w) return;
      const piece = w.chunk.subarray(w.offset, w.offset + size);
      w.offset += size;
      const room = this.inner.write(piece);
      if (w.offset < w.chunk.length) {
        if (room) this.paceWrite();
        else this.waitingDrain = true;
        return;
      }
      if (!room) {
        this.waitingDrain = true;
        return;
      }
      this.writing = undefined;
      w.callback();
    };
    if (wait === 0) writePiece();
    else this.writeTimer = this.limiter.clock.setTimeout(writePiece, wait);
  }

  private onInnerDrain(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    const w = this.writing;
    if (!w) return;
    if (w.offset < w.chunk.length) {
      this.paceWrite();
      return;
    }
    this.writing = undefined;
    w.callback();
  }

  private onInnerClose(): void {
    if (this.destroyed) return;
    // Keep what our reader has not taken yet (a chunk still being paced included): close once it has.
    if (this.innerEnded && !this.readableEnded) {
      this.once('end', () => this.destroy());
      return;
    }
    this.destroy();
  }
}
