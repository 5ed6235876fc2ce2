import { addressKey } from '../util/address.js';

export interface VhostGateLimits {
  /** 0 = no per-address cap */
  perAddress: number;
  total: number;
}

/**
 * Admission to the vhost ports (http, https, tcpmux share one gate): bounds
 * the connections one source address and everyone together may hold open,
 * so a peer that opens connections and never finishes a request cannot
 * exhaust the server's sockets or memory. Unlike frp, which has no such cap.
 */
export class VhostConnectionGate {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: VhostGateLimits) {}

  get open(): number {
    return this.total;
  }

  /** Counts a new connection from `remote`; returns its release, or undefined when a cap is reached. */
  admit(remote: string | undefined): (() => void) | undefined {
    if (this.total >= this.limits.total) return undefined;
    const key = addressKey(remote);
    const held = this.perAddress.get(key) ?? 0;
    if (this.limits.perAddress > 0 && held >= this.limits.perAddress) return undefined;
    this.perAddress.set(key, held + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(key);
      else this.perAddress.set(key, left);
    };
  }
}
