/** Why an entry left a FlowTable. */
export type FlowEndReason = 'idle' | 'evicted' | 'closed';

export interface FlowTableOptions<V> {
  /** an entry not touched for this long is dropped */
  idleMs: number;
  /** the least recently used entry makes room beyond this count */
  maxEntries: number;
  /** called once for every entry that leaves, whatever the reason */
  onEnd?(key: string, value: V, why: FlowEndReason): void;
  /** the clock, in ms (tests pass their own) */
  now?(): number;
}

interface Entry<V> {
  value: V;
  lastSeen: number;
  /** when the entry last took its place at the back of the map order */
  movedAt: number;
}

/**
 * UDP has no connections, so "a visitor" is an address seen recently. This
 * keeps such flows, bounded in time (idle expiry) and in count (least
 * recently used goes first), so a flood of spoofed source addresses costs a
 * fixed amount of memory. Map order is insertion order; touch() re-inserts
 * (see there), so the first key is the least recently used.
 */
export class FlowTable<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: FlowTableOptions<V>) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * The value, marked as used now; undefined when unknown. This runs per
   * datagram, so the entry moves to the back of the map order (delete + set,
   * which costs) only when it last moved more than 1/16 of the idle time ago:
   * the order is least-recently-used to within that.
   */
  touch(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    e.lastSeen = now;
    if (now - e.movedAt > this.opts.idleMs / 16) {
      e.movedAt = now;
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e.value;
  }

  /** Adds a new flow, evicting the least recently used one when full. */
  add(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.opts.onEnd?.(key, old.value, 'evicted');
    }
    while (this.entries.size >= this.opts.maxEntries) {
      const first = this.entries.keys().next();
      if (first.done === true) break;
      this.end(first.value, 'evicted');
    }
    const now = this.now();
    this.entries.set(key, { value, lastSeen: now, movedAt: now });
    this.startSweeping();
  }

  delete(key: string): void {
    this.end(key, 'closed');
  }

  values(): V[] {
    return [...this.entries.values()].map((e) => e.value);
  }

  /** Ends every flow (onEnd with 'closed') and stops the timer. */
  clear(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const key of [...this.entries.keys()]) this.end(key, 'closed');
  }

  private end(key: string, why: FlowEndReason): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.opts.onEnd?.(key, e.value, why);
  }

  private startSweeping(): void {
    if (this.sweeper) return;
    // Half the idle time: an idle flow lives at most 1.5 × idleMs.
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.opts.idleMs / 2)));
    this.sweeper.unref();
  }

  private sweep(): void {
    const cutoff = this.now() - this.opts.idleMs;
    // In order of movedAt: once that is fresh, so is every later entry (lastSeen >= movedAt).
    for (const [key, e] of this.entries) {
      if (e.movedAt > cutoff) break;
      if (e.lastSeen <= cutoff) this.end(key, 'idle');
    }
    if (this.entries.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
