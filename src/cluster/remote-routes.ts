import { EventEmitter } from 'node:events';
import { candidateDomains } from '../vhost/router.js';
import { CLAIM_PREFIX, parseClaimKey, parseClaimValue, type ClaimKind, type ClaimValue } from './claims.js';
import type { RedisLink } from './redis-link.js';

/** Claims read per refresh at most: the cluster's whole table, bounded. */
const MAX_CLAIMS = 100_000;
const SCAN_COUNT = 1000;

export interface RemoteRoute {
  readonly holder: ClaimValue;
  /** when the lease runs out unless the holder renews it (seen at the last refresh) */
  readonly expiresAt: number;
}

/**
 * What the other nodes hold, read from Redis every `refreshMs` (a third of
 * the lease): the table the vhosts and the mirrored tcp ports route by. Each
 * entry carries its lease's end, so when Redis is away or a node dies its
 * routes go out of use on their own within one lease: a dead node is never
 * routed to for longer. Event 'changed': the set of remote tcp ports changed
 * (or an entry of it moved to another node); 'udpChanged': the same for udp.
 */
export class RemoteRoutes extends EventEmitter {
  private routes = new Map<string, RemoteRoute>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private lastTcp = '';
  private lastUdp = '';

  constructor(
    private readonly redis: RedisLink,
    private readonly nodeName: string,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.routes.clear();
  }

  /** The other node holding claim `kind`/`id` now, if any. */
  find(kind: ClaimKind, id: string): RemoteRoute | undefined {
    const route = this.routes.get(`${kind}:${id}`);
    return route && route.expiresAt > this.now() ? route : undefined;
  }

  /** The other node serving `domain` on vhost `kind`: the exact name, else the nearest wildcard (`*.example.com`), as routers match. */
  findDomain(kind: 'http' | 'https' | 'tcpmux', domain: string): RemoteRoute | undefined {
    // The order a local router tries: the name, then ever wider wildcards.
    for (const candidate of candidateDomains(domain.toLowerCase())) {
      const hit = this.find(kind, candidate);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Every live entry, `kind:id` with its holder, for the dashboard; at most `max`. */
  entries(max: number): Array<[string, RemoteRoute]> {
    const now = this.now();
    const out: Array<[string, RemoteRoute]> = [];
    for (const e of this.routes) {
      if (out.length >= max) break;
      if (e[1].expiresAt > now) out.push(e);
    }
    return out;
  }

  /** tcp remote ports held by other nodes, with their holders. */
  tcpPorts(): Map<number, RemoteRoute> {
    return this.ports('tcp');
  }

  /** udp remote ports held by other nodes, with their holders. */
  udpPorts(): Map<number, RemoteRoute> {
    return this.ports('udp');
  }

  private ports(kind: 'tcp' | 'udp'): Map<number, RemoteRoute> {
    const out = new Map<number, RemoteRoute>();
    const now = this.now();
    const prefix = `${kind}:`;
    for (const [key, route] of this.routes) {
      if (key.startsWith(prefix) && route.expiresAt > now) out.set(Number(key.slice(prefix.length)), route);
    }
    return out;
  }

  /** Reads the table again (also between ticks, e.g. right after Redis came back); on failure entries keep their lease ends. */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      this.routes = await this.redis.run((r) => this.read(r));
    } catch {
      // Redis away: keep routing by what was read, each entry until its lease ends.
    } finally {
      this.refreshing = false;
      this.announce();
    }
  }

  private async read(redis: Parameters<Parameters<RedisLink['run']>[0]>[0]): Promise<Map<string, RemoteRoute>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${CLAIM_PREFIX}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0' && keys.length < MAX_CLAIMS);
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.get(key).pttl(key);
    const replies = keys.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const read = new Map<string, RemoteRoute>();
    const now = this.now();
    keys.forEach((key, i) => {
      const text = replies[2 * i]?.[1];
      const ttl = replies[2 * i + 1]?.[1];
      const parsed = parseClaimKey(key);
      const holder = typeof text === 'string' ? parseClaimValue(text) : undefined;
      if (!parsed || !holder || holder.n === this.nodeName || typeof ttl !== 'number' || ttl <= 0) return;
      read.set(`${parsed.kind}:${parsed.id}`, { holder, expiresAt: now + ttl });
    });
    return read;
  }

  /** Emits 'changed' ('udpChanged') when the tcp (udp) ports held elsewhere, or their holders, differ from the last time. */
  private announce(): void {
    const summary = (ports: Map<number, RemoteRoute>): string => [...ports].map(([p, r]) => `${p}@${r.holder.l}`).join(',');
    const tcp = this.tcpPorts();
    const tcpNow = summary(tcp);
    if (tcpNow !== this.lastTcp) {
      this.lastTcp = tcpNow;
      this.emit('changed', tcp);
    }
    const udp = this.udpPorts();
    const udpNow = summary(udp);
    if (udpNow !== this.lastUdp) {
      this.lastUdp = udpNow;
      this.emit('udpChanged', udp);
    }
  }
}
