/** Why an entry left a FlowTable. */
export type FlowEndReason = 'idle' | 'evicted' | 'closed';

export interface FlowTableOptions<V> {
  /** an entry not touched for this long is dropped */
  idleMs: number;
  /** the least recently used entry makes room beyond this count */
  maxEntries: number;
  /** called once for every entry that leaves, whatever the reason */
  onEnd?(key: string, value: V, why: FlowEndReason): void;
}

interface Entry<V> {
  value: V;
  lastSeen: number;
}

/**
 * UDP has no connections, so "a visitor" is an address seen recently. This
 * keeps such flows, bounded in time (idle expiry) and in count (least
 * recently used goes first), so a flood of spoofed source addresses costs a
 * fixed amount of memory. Map order is insertion order; a touch re-inserts,
 * so the first key is always the least recently used.
 */
export class FlowTable<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly opts: FlowTableOptions<V>) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The value, marked as used now; undefined when unknown. */
  touch(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    e.lastSeen = Date.now();
    this.entries.delete(key);
    this.entries.set(key, e);
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
    this.entries.set(key, { value, lastSeen: Date.now() });
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
    const cutoff = Date.now() - this.opts.idleMs;
    // Least recently used first: stop at the first fresh entry.
    for (const [key, e] of this.entries) {
      if (e.lastSeen > cutoff) break;
      this.end(key, 'idle');
    }
    if (this.entries.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
