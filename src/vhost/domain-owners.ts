/**
 * Which user (the Login `user`) owns each vhost domain. A domain belongs to
 * the user who first routed it, for as long as any route on it remains, on
 * any of the vhost kinds (http, https, tcpmux share one table): a browser
 * that moves from http://d to https://d must not land on someone else. The
 * routers consult it; only they change it.
 *
 * When the last route goes, the owner keeps the domain for a grace period:
 * a client that lost its connection comes back and registers again, and
 * another user polling for the domain must not win it in that gap.
 */
export const DOMAIN_GRACE_MS = 120_000;
/** Past this many released domains, the expired ones are swept on the next release. */
const SWEEP_ABOVE = 4096;

interface Ownership {
  user: string;
  routes: number;
  /** when routes is 0: the time the domain becomes free */
  until: number;
}

export class DomainOwners {
  private readonly owners = new Map<string, Ownership>();
  private released = 0;

  constructor(
    private readonly graceMs = DOMAIN_GRACE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The owning user, or undefined when the domain is free. */
  ownerOf(domain: string): string | undefined {
    const entry = this.owners.get(domain);
    if (entry && entry.routes === 0 && entry.until <= this.now()) {
      this.owners.delete(domain);
      this.released -= 1;
      return undefined;
    }
    return entry?.user;
  }

  /** Counts one more route (or group member) on `domain`; the first one makes `user` its owner. */
  hold(domain: string, user: string): void {
    const entry = this.owners.get(domain);
    if (entry && (entry.routes > 0 || entry.user === user)) {
      if (entry.routes === 0) this.released -= 1;
      entry.routes += 1;
      return;
    }
    // Free, or released by another user whose grace the router already saw run out.
    if (entry) this.released -= 1;
    this.owners.set(domain, { user, routes: 1, until: 0 });
  }

  /** Counts one route fewer; with none left the owner keeps the domain for the grace period. */
  release(domain: string): void {
    const entry = this.owners.get(domain);
    if (!entry || entry.routes === 0) return;
    entry.routes -= 1;
    if (entry.routes > 0) return;
    if (this.graceMs <= 0) {
      this.owners.delete(domain);
      return;
    }
    entry.until = this.now() + this.graceMs;
    this.released += 1;
    if (this.released > SWEEP_ABOVE) this.sweep();
  }

  private sweep(): void {
    const now = this.now();
    for (const [domain, entry] of this.owners) {
      if (entry.routes === 0 && entry.until <= now) {
        this.owners.delete(domain);
        this.released -= 1;
      }
    }
  }
}
