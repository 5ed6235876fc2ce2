import type { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';

interface Waiter {
  resolve(stream: Duplex): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export enum PoolState {
  Open = 'open',
  Closed = 'closed',
}

/** Waiting visitors per client beyond which new ones are refused at once (bounded memory). */
const MAX_WAITERS = 1024;

/**
 * Idle work connections of one client, ready for the next visitor. Taking one
 * always asks the client for a replacement (ReqWorkConn), so the pool refills
 * itself; when it is empty the visitor waits, bounded by `userConnTimeout`.
 * Capacity is the client's pool size + 10, as frp: extra NewWorkConns are refused.
 *
 * A visitor that had to wait also asks for one more, so the pool grows under
 * load, as frp's does, but only while the idle connections and those already
 * asked for leave room: frp asks regardless, and under a burst of 16 visitors
 * one connection in eight was opened by the client, signed, checked and
 * refused because the pool was full (measured with bench/tunbench.mjs cps).
 */
export class WorkConnPool {
  state = PoolState.Open;
  private readonly idle: Duplex[] = [];
  private readonly waiters: Waiter[] = [];
  /** ReqWorkConns sent and not answered yet, as far as we know (a lost one only makes the pool grow later) */
  private outstanding = 0;

  constructor(
    private readonly capacity: number,
    private readonly requestWorkConn: () => void,
  ) {}

  get idleCount(): number {
    return this.idle.length;
  }

  /** Offers a fresh work connection; false when the pool is full or closed. */
  put(stream: Duplex): boolean {
    if (this.state !== PoolState.Open) return false;
    if (this.outstanding > 0) this.outstanding -= 1;
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(stream);
      return true;
    }
    if (this.idle.length >= this.capacity) return false;
    this.idle.push(stream);
    // A pooled connection the client drops must not be handed to a visitor later.
    stream.once('close', () => {
      const i = this.idle.indexOf(stream);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return true;
  }

  /** Takes an idle work connection, or waits for one up to `timeoutMs`. */
  take(timeoutMs: number): Promise<Duplex> {
    if (this.state !== PoolState.Open) {
      return Promise.reject(new BurrowError('BURROW_CLOSED', 'the client is gone'));
    }
    let stream: Duplex | undefined;
    while ((stream = this.idle.shift()) !== undefined) {
      if (!stream.destroyed) {
        this.request();
        return Promise.resolve(stream);
      }
    }
    if (this.waiters.length >= MAX_WAITERS) {
      return Promise.reject(new BurrowError('BURROW_TIMEOUT', 'too many visitors waiting for a work connection'));
    }
    this.request();
    return new Promise<Duplex>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          // The request made for this visitor went unanswered: count it lost.
          if (this.outstanding > 0) this.outstanding -= 1;
          reject(new BurrowError('BURROW_TIMEOUT', `no work connection from the client within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    }).then((s) => {
      // The pool ran dry: grow it by one, if it has room for what is already on its way.
      if (this.idle.length + this.outstanding < this.capacity) this.request();
      return s;
    });
  }

  private request(): void {
    this.outstanding += 1;
    this.requestWorkConn();
  }

  close(): void {
    if (this.state === PoolState.Closed) return;
    this.state = PoolState.Closed;
    for (const s of this.idle.splice(0)) s.destroy();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new BurrowError('BURROW_CLOSED', 'the client is gone'));
    }
  }
}
