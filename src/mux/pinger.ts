import { performance } from 'node:perf_hooks';
import { BurrowError, isBurrowError } from '../util/errors.js';

interface PendingPing {
  start: number;
  timer: NodeJS.Timeout;
  resolve: (rttMs: number) => void;
  reject: (err: Error) => void;
}

/**
 * Outstanding yamux pings of one session and its keepalive. Each ping has
 * its own timeout, so the number outstanding is bounded by rate x timeout.
 */
export class Pinger {
  private readonly pending = new Map<number, PendingPing>();
  private nextId = 0;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private keepaliveInFlight = false;

  /** `send(id)` writes a Ping SYN carrying `id`. */
  constructor(private readonly send: (id: number) => void) {}

  /** Resolves with the round trip in ms; rejects with BURROW_TIMEOUT. */
  ping(timeoutMs: number): Promise<number> {
    const id = this.nextId;
    this.nextId = (id + 1) >>> 0;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BurrowError('BURROW_TIMEOUT', `yamux: ping not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { start: performance.now(), timer, resolve, reject });
      this.send(id);
    });
  }

  /** A Ping ACK arrived; unknown ids (late or duplicate answers) are ignored. */
  answered(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(performance.now() - p.start);
  }

  /** Pings every `intervalMs`, one at a time; calls `onDead` when one goes unanswered for `timeoutMs`. */
  startKeepalive(intervalMs: number, timeoutMs: number, onDead: (err: BurrowError) => void): void {
    this.keepaliveTimer = setInterval(() => {
      if (this.keepaliveInFlight) return;
      this.keepaliveInFlight = true;
      void this.ping(timeoutMs).then(
        () => {
          this.keepaliveInFlight = false;
        },
        (err: unknown) => {
          this.keepaliveInFlight = false;
          if (isBurrowError(err, 'BURROW_TIMEOUT')) {
            onDead(new BurrowError('BURROW_TIMEOUT', `yamux: keepalive ping not answered within ${timeoutMs} ms`));
          }
        },
      );
    }, intervalMs);
    this.keepaliveTimer.unref();
  }

  /** Stops the keepalive and fails every outstanding ping with BURROW_CLOSED. */
  stop(): void {
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new BurrowError('BURROW_CLOSED', 'yamux: session closed before the ping was answered'));
    }
    this.pending.clear();
  }
}
