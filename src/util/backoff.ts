/**
 * Reconnect delays: start at `initialMs`, double each attempt up to `maxMs`,
 * plus up to `jitter` (a fraction) of random extra so that many clients that
 * lost the same server do not come back in lock-step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 20_000,
    private readonly jitter = 0.2,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next attempt; each call advances the schedule. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(base * (1 + this.jitter * this.random()));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
