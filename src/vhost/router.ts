/**
 * The vhost routing table shared by the http, https and tcpmux listeners
 * (FRP-PROTOCOL §7.3): routes keyed by (domain, location, routeByHTTPUser).
 *
 * Lookup order for a host: the exact host; then wildcards made by replacing
 * the leftmost label with `*` and dropping labels one at a time while at
 * least three remain (`a.b.example.com` → `*.b.example.com` → `*.example.com`,
 * never `*.com`); then the catch-all `*`. For each candidate domain, routes
 * of the request's user come before routes for any user (''), and within
 * those the first location, in descending byte order, that prefixes the
 * path wins — for nested prefixes that is the longest one.
 *
 * Load-balancing groups: a route registered again with the same group name
 * and key gains a member; lookups rotate round-robin over the members.
 *
 * Tenants: a domain, with every location and routeByHTTPUser route on it,
 * belongs to the user who first registered it (DomainOwners). Another user's
 * proxy may only join one of its existing load-balancing groups, with the
 * group key. Unlike frp, which lets anyone add a location or a route user to
 * any domain and so take part of its traffic (and its Authorization headers).
 */
import { BurrowError } from '../util/errors.js';
import { sameSecret } from '../util/secret.js';
import { DomainOwners } from './domain-owners.js';

export interface VhostRouteKey {
  domain: string;
  /** A path prefix; '' matches every path. */
  location: string;
  /** '' = any user. */
  routeByHTTPUser: string;
}

export interface VhostRoute<T> extends VhostRouteKey {
  /** The proxy registering the route, unique within a group. */
  name: string;
  value: T;
  /** `load_balancer.group`; '' or undefined = not grouped. */
  group?: string;
  groupKey?: string;
  /** The Login `user` of the client registering it; '' when it sent none. */
  user?: string;
}

export interface VhostMatch<T> extends VhostRouteKey {
  /** The member picked for this request. */
  name: string;
  value: T;
}

interface Member<T> {
  name: string;
  value: T;
}

interface RouteEntry<T> {
  location: string;
  locationBytes: Buffer;
  group: string;
  groupKey: string;
  members: Array<Member<T>>;
  /** Round-robin position among the members. */
  next: number;
}

/** Routes of one domain, by routeByHTTPUser, each list in descending location order. */
type DomainRoutes<T> = Map<string, Array<RouteEntry<T>>>;

/**
 * Routes (location × routeByHTTPUser) one domain may hold. Adding and looking
 * up walk a domain's sorted list, so an unbounded list would let one client
 * stall every request to that domain, and the server while it registers.
 * Unlike frp, which has no bound.
 */
export const MAX_ROUTES_PER_DOMAIN = 1024;

function describeKey(key: VhostRouteKey): string {
  return `domain [${key.domain}] location [${key.location}] routeByHTTPUser [${key.routeByHTTPUser}]`;
}

export class VhostRouter<T> {
  private readonly domains = new Map<string, DomainRoutes<T>>();
  private routeCount = 0;

  /** `owners` is shared by the routers of every vhost kind; a router alone gets its own. */
  constructor(private readonly owners: DomainOwners = new DomainOwners()) {}

  /** Number of distinct (domain, location, routeByHTTPUser) routes. */
  get size(): number {
    return this.routeCount;
  }

  /**
   * Registers a route, or joins its group. Throws BURROW_PROXY_REJECTED when
   * the domain belongs to another user (and this is not a join of one of its
   * groups with the right key), on a conflict with an existing route of the
   * same user, a group key mismatch, or a name already in the group.
   */
  add(route: VhostRoute<T>): void {
    const domain = route.domain.toLowerCase();
    const group = route.group ?? '';
    const groupKey = route.groupKey ?? '';
    const user = route.user ?? '';
    const key: VhostRouteKey = { domain, location: route.location, routeByHTTPUser: route.routeByHTTPUser };
    const existing = this.find(key);
    const owner = this.owners.ownerOf(domain);
    if (owner !== undefined && owner !== user) {
      // The same answer whether or not a group exists, so the refusal tells nothing about the owner's setup.
      // A group without a key is open to its owner's own proxies only, not to other users.
      const joinsGroup = existing !== undefined && group !== '' && groupKey !== '' && existing.group === group && sameSecret(existing.groupKey, groupKey);
      if (!joinsGroup) {
        throw new BurrowError(
          'BURROW_PROXY_REJECTED',
          `proxy [${route.name}]: domain [${domain}] belongs to another user; only a member of one of its load-balancing groups, with the group key, may share it`,
        );
      }
    }
    if (existing !== undefined) {
      if (group === '' || existing.group !== group) {
        const holder = existing.group !== '' ? `group [${existing.group}]` : `proxy [${existing.members[0]?.name ?? '?'}]`;
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy [${route.name}]: ${describeKey(key)} is already used by ${holder}`);
      }
      if (!sameSecret(existing.groupKey, groupKey)) {
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy [${route.name}]: group [${group}] auth failed: the group key does not match`);
      }
      if (existing.members.some((m) => m.name === route.name)) {
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy [${route.name}] is already a member of group [${group}] for ${describeKey(key)}`);
      }
      existing.members.push({ name: route.name, value: route.value });
      this.owners.hold(domain, user);
      return;
    }

    let byUser = this.domains.get(domain);
    if (byUser !== undefined && routesOf(byUser) >= MAX_ROUTES_PER_DOMAIN) {
      throw new BurrowError(
        'BURROW_PROXY_REJECTED',
        `proxy [${route.name}]: domain [${domain}] already has ${MAX_ROUTES_PER_DOMAIN} routes (locations and routeByHTTPUser values), the most one domain may hold`,
      );
    }
    if (byUser === undefined) {
      byUser = new Map();
      this.domains.set(domain, byUser);
    }
    let list = byUser.get(key.routeByHTTPUser);
    if (list === undefined) {
      list = [];
      byUser.set(key.routeByHTTPUser, list);
    }
    const entry: RouteEntry<T> = {
      location: key.location,
      locationBytes: Buffer.from(key.location, 'utf8'),
      group,
      groupKey,
      members: [{ name: route.name, value: route.value }],
      next: 0,
    };
    // Byte order, as frp compares Go strings; descending puts /a/b before /a.
    let at = 0;
    while (at < list.length && Buffer.compare((list[at] as RouteEntry<T>).locationBytes, entry.locationBytes) > 0) at += 1;
    list.splice(at, 0, entry);
    this.routeCount += 1;
    this.owners.hold(domain, user);
  }

  /** Removes proxy `name` from a route; the route goes with its last member. Returns whether it was there. */
  remove(key: VhostRouteKey & { name: string }): boolean {
    const domain = key.domain.toLowerCase();
    const byUser = this.domains.get(domain);
    const list = byUser?.get(key.routeByHTTPUser);
    if (byUser === undefined || list === undefined) return false;
    const index = list.findIndex((e) => e.location === key.location);
    const entry = list[index];
    if (entry === undefined) return false;
    const memberIndex = entry.members.findIndex((m) => m.name === key.name);
    if (memberIndex < 0) return false;
    entry.members.splice(memberIndex, 1);
    this.owners.release(domain);
    if (entry.members.length > 0) return true;
    list.splice(index, 1);
    this.routeCount -= 1;
    if (list.length === 0) byUser.delete(key.routeByHTTPUser);
    if (byUser.size === 0) this.domains.delete(domain);
    return true;
  }

  /** The value for a request, or undefined (→ 404). `host` should be canonical (see canonicalHost). */
  lookup(host: string, path: string, user: string): T | undefined {
    return this.match(host, path, user)?.value;
  }

  /** Like lookup, also telling which route matched and which member was picked. */
  match(host: string, path: string, user: string): VhostMatch<T> | undefined {
    for (const domain of candidateDomains(host.toLowerCase())) {
      const byUser = this.domains.get(domain);
      if (byUser === undefined) continue;
      const users = user === '' ? [''] : [user, ''];
      for (const routeUser of users) {
        const list = byUser.get(routeUser);
        if (list === undefined) continue;
        for (const entry of list) {
          if (!path.startsWith(entry.location)) continue;
          const member = pick(entry);
          return { domain, location: entry.location, routeByHTTPUser: routeUser, name: member.name, value: member.value };
        }
      }
    }
    return undefined;
  }

  /** Whether any route (any location, any route user) serves `host`, wildcards and the catch-all included. */
  serves(host: string): boolean {
    return candidateDomains(host.toLowerCase()).some((d) => this.domains.has(d));
  }

  private find(key: VhostRouteKey): RouteEntry<T> | undefined {
    return this.domains
      .get(key.domain)
      ?.get(key.routeByHTTPUser)
      ?.find((e) => e.location === key.location);
  }
}

function pick<T>(entry: RouteEntry<T>): Member<T> {
  const index = entry.next % entry.members.length;
  entry.next = index + 1;
  return entry.members[index] as Member<T>;
}

/** The domains to try for `host`, in order. */
export function candidateDomains(host: string): string[] {
  const candidates = [host];
  let labels = host.split('.');
  while (labels.length >= 3) {
    candidates.push(`*.${labels.slice(1).join('.')}`);
    labels = labels.slice(1);
  }
  if (host !== '*') candidates.push('*');
  return candidates;
}

function routesOf<T>(byUser: DomainRoutes<T>): number {
  let n = 0;
  for (const list of byUser.values()) n += list.length;
  return n;
}
