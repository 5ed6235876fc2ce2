/**
 * Which user (the Login `user`) owns each vhost domain. A domain belongs to
 * the user who first routed it, for as long as any route on it remains, on
 * any of the vhost kinds (http, https, tcpmux share one table): a browser
 * that moves from http://d to https://d must not land on someone else. The
 * routers consult it; only they change it.
 */
export class DomainOwners {
  private readonly owners = new Map<string, { user: string; routes: number }>();

  /** The owning user, or undefined when no route uses the domain. */
  ownerOf(domain: string): string | undefined {
    return this.owners.get(domain)?.user;
  }

  /** Counts one more route (or group member) on `domain`; the first one makes `user` its owner. */
  hold(domain: string, user: string): void {
    const entry = this.owners.get(domain);
    if (entry) entry.routes += 1;
    else this.owners.set(domain, { user, routes: 1 });
  }

  /** Counts one route fewer; the domain is free again when none is left. */
  release(domain: string): void {
    const entry = this.owners.get(domain);
    if (!entry) return;
    entry.routes -= 1;
    if (entry.routes <= 0) this.owners.delete(domain);
  }
}
