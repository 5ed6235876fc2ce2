import type { ControlSession } from './control-session.js';

/**
 * Which client holds each proxy name, server-wide, and (in a cluster) how
 * to give up what the name claimed there. Invariant kept here: a name has a
 * claim release only while it is held, and the release runs exactly once,
 * when the name is let go.
 */
export class ProxyNames {
  private readonly owners = new Map<string, ControlSession>();
  private readonly claims = new Map<string, () => void>();

  ownerOf(name: string): ControlSession | undefined {
    return this.owners.get(name);
  }

  /** Holds `name` for `control` (from the start of a registration, so a concurrent duplicate is refused); false when taken. */
  hold(name: string, control: ControlSession): boolean {
    if (this.owners.has(name)) return false;
    this.owners.set(name, control);
    return true;
  }

  /** What to run when the held name is let go (its cluster claims). */
  onRelease(name: string, release: () => void): void {
    if (this.owners.has(name)) this.claims.set(name, release);
    else release();
  }

  /** Lets `name` go if `control` holds it (a registration that failed, or a proxy that closed). */
  release(name: string, control: ControlSession): void {
    if (this.owners.get(name) !== control) return;
    this.owners.delete(name);
    const release = this.claims.get(name);
    this.claims.delete(name);
    release?.();
  }

  /** Names held by clients of `user` (registrations in flight included). */
  countOf(user: string): number {
    let n = 0;
    for (const c of this.owners.values()) if (c.user === user) n++;
    return n;
  }
}
