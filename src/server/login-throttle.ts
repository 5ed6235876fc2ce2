/** The window failed logins are counted in, and how long an address is refused once it has too many. */
const WINDOW_MS = 60_000;
/** Addresses tracked at once (bounded memory); past it the oldest entry is forgotten. */
const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  windowStart: number;
  /** 0 = not refused */
  refusedUntil: number;
}

/**
 * Failed logins per source address (IPv6: per /64, the caller's key): past
 * `limits.failedLoginsPerIP` within a minute, that address's logins are
 * refused for a minute without checking the credential, so guessing a token
 * is slowed to a handful of tries a minute. A good client from another
 * address never meets it; one from the same address waits a minute.
 */
export class LoginThrottle {
  private readonly byAddress = new Map<string, Failures>();

  constructor(
    private readonly maxFailures: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds this address is still refused for; 0 when it may try. */
  refusedFor(key: string): number {
    const f = this.byAddress.get(key);
    if (!f || f.refusedUntil === 0) return 0;
    const left = f.refusedUntil - this.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.byAddress.delete(key);
    return 0;
  }

  /** Counts a failed login; true when this one starts the address's refusal (log it then, once). */
  failed(key: string): boolean {
    const now = this.now();
    let f = this.byAddress.get(key);
    if (!f || now - f.windowStart >= WINDOW_MS) {
      this.byAddress.delete(key);
      if (this.byAddress.size >= MAX_ADDRESSES) {
        const oldest = this.byAddress.keys().next().value;
        if (oldest !== undefined) this.byAddress.delete(oldest);
      }
      f = { count: 0, windowStart: now, refusedUntil: 0 };
      this.byAddress.set(key, f);
    }
    f.count++;
    if (f.count < this.maxFailures || f.refusedUntil !== 0) return false;
    f.refusedUntil = now + WINDOW_MS;
    return true;
  }

  /** A successful login clears the address's count. */
  succeeded(key: string): void {
    this.byAddress.delete(key);
  }
}
