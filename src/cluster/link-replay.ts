/**
 * The nonces of the link hellos a node accepted while they could still pass
 * the age check, so that a hello seen on the wire (links without
 * cluster.tls) cannot be sent again to open a second link. Bounded: when
 * full, the oldest is forgotten and every hello no newer than it is refused
 * from then on — a legitimate hello is always newer.
 */
export class LinkReplayGuard {
  /** nonce → the hello's timestamp, oldest first (hellos arrive in about timestamp order) */
  private readonly seen = new Map<string, number>();
  /** hellos stamped at or before this are refused: their nonces may have been forgotten */
  private floor = 0;

  constructor(
    /** how long a hello passes the age check, each way */
    private readonly windowMs: number,
    private readonly capacity = 65_536,
  ) {}

  /** Records `nonce`; false when it was seen before, or is too old to tell. */
  admit(nonce: string, ts: number, now = Date.now()): boolean {
    for (const [n, t] of this.seen) {
      if (t >= now - 2 * this.windowMs) break;
      this.seen.delete(n);
    }
    if (ts <= this.floor || this.seen.has(nonce)) return false;
    if (this.seen.size >= this.capacity) {
      const [oldest, t] = this.seen.entries().next().value as [string, number];
      this.seen.delete(oldest);
      this.floor = Math.max(this.floor, t);
    }
    this.seen.set(nonce, ts);
    return true;
  }
}
