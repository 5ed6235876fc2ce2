/** A stream that sends what it can once the connection has room. */
export interface Pumpable {
  pump(): void;
}

/**
 * Streams waiting for the connection to drain. When it does, they are
 * pumped in turn while it has room; those that did not get a turn go first
 * next time, so one busy stream cannot starve the others.
 */
export class DrainQueue {
  private readonly waiters = new Set<Pumpable>();

  constructor(
    /** True once the session is gone: nobody is pumped any more. */
    private readonly stopped: () => boolean,
    /** True while the connection holds more unsent bytes than it should. */
    private readonly congested: () => boolean,
  ) {}

  add(stream: Pumpable): void {
    this.waiters.add(stream);
  }

  delete(stream: Pumpable): void {
    this.waiters.delete(stream);
  }

  clear(): void {
    this.waiters.clear();
  }

  /** The connection drained. */
  serve(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (let i = 0; i < waiters.length; i++) {
      if (this.stopped()) return;
      if (this.congested()) {
        // Streams that did not get a turn go first next time.
        const again = [...this.waiters];
        this.waiters.clear();
        for (let j = i; j < waiters.length; j++) this.waiters.add(waiters[j]);
        for (const s of again) this.waiters.add(s);
        return;
      }
      waiters[i].pump();
    }
  }
}
