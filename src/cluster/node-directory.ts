import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RedisState, type RedisLink } from './redis-link.js';

export interface NodeProxySummary {
  name: string;
  type: string;
  connections: number;
  trafficIn: number;
  trafficOut: number;
}

export interface NodeClientSummary {
  runId: string;
  user: string;
  hostname: string;
  version: string;
  address: string;
  proxies: NodeProxySummary[];
}

export interface NodeTotals {
  clients: number;
  proxies: number;
  connections: number;
  trafficIn: number;
  trafficOut: number;
}

/** What a node publishes about itself: its totals, and its clients with their proxies (bounded: `truncated` when some were left out). */
export interface NodeSummary {
  totals: NodeTotals;
  clients: NodeClientSummary[];
  truncated: boolean;
}

/** One live node as the dashboard lists it. */
export interface NodeEntry extends NodeSummary {
  node: string;
  link: string;
  /** ms since the epoch of the summary */
  publishedAt: number;
  /** when the node's entry runs out unless it publishes again */
  expiresInMs: number;
}

/** Nodes listed at most. */
const MAX_NODES = 256;
/** A node's published summary read back at most (a few hundred clients). */
const MAX_SUMMARY_BYTES = 1024 * 1024;
const NODES = 'burrow:nodes';
const nodeKey = (node: string): string => `burrow:node:${node}`;

/**
 * The cluster's nodes for the dashboard: each node publishes its summary
 * every third of the lease under `burrow:node:<name>` with the lease as its
 * expiry (listed in the sorted set `burrow:nodes` by lease end), and reads
 * everyone's back. A node that dies stops publishing and drops out of every
 * dashboard when its lease ends; one that stops cleanly removes itself.
 */
export class NodeDirectory {
  private timer: NodeJS.Timeout | undefined;
  private known: Array<NodeEntry & { expiresAt: number }> = [];
  private ticking = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly node: string,
    private readonly link: () => string,
    private readonly leaseMs: number,
    private readonly summarize: () => NodeSummary,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
    void this.tick();
    this.redis.on('up', this.onUp);
  }

  private readonly onUp = (): void => void this.tick();

  /** Publishes this node's summary and reads every node's; resolves when done (tests and the dashboard's refresh await it). */
  async tick(): Promise<void> {
    if (this.ticking || this.redis.state !== RedisState.Up) return;
    this.ticking = true;
    try {
      const now = this.now();
      const text = JSON.stringify({ node: this.node, link: this.link(), publishedAt: now, ...this.summarize() });
      await this.redis.run((r) =>
        r
          .multi()
          .set(nodeKey(this.node), text, 'PX', this.leaseMs)
          .zadd(NODES, now + this.leaseMs, this.node)
          .zremrangebyscore(NODES, '-inf', now)
          .exec(),
      );
      const names = await this.redis.run((r) => r.zrangebyscore(NODES, now, '+inf', 'WITHSCORES', 'LIMIT', 0, MAX_NODES));
      const entries: Array<NodeEntry & { expiresAt: number }> = [];
      const listed: Array<{ name: string; expiresAt: number }> = [];
      for (let i = 0; i + 1 < names.length; i += 2) listed.push({ name: names[i]!, expiresAt: Number(names[i + 1]) });
      const texts = listed.length > 0 ? await this.redis.run((r) => r.mget(...listed.map((n) => nodeKey(n.name)))) : [];
      texts.forEach((t, i) => {
        const entry = parseEntry(t);
        if (entry) entries.push({ ...entry, expiresAt: listed[i]!.expiresAt, expiresInMs: 0 });
      });
      this.known = entries;
    } catch (err) {
      this.log.debug('cluster: node summary not published', { reason: describeError(err) });
    } finally {
      this.ticking = false;
    }
  }

  /** Every node whose lease runs (this one included), as last read; a dead node drops out when its lease ends, Redis or not. */
  nodes(): NodeEntry[] {
    const now = this.now();
    return this.known
      .filter((e) => e.expiresAt > now)
      .map(({ expiresAt, ...e }) => ({ ...e, expiresInMs: expiresAt - now }))
      .sort((x, y) => x.node.localeCompare(y.node));
  }

  /** Stops publishing; `remove`: this node leaves every dashboard now (a clean stop), else when its lease ends. */
  async stop(remove: boolean): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.redis.off('up', this.onUp);
    if (!remove) return;
    await this.redis.run((r) => r.multi().del(nodeKey(this.node)).zrem(NODES, this.node).exec()).catch(() => {});
  }
}

function parseEntry(text: string | null): Omit<NodeEntry, 'expiresInMs'> | undefined {
  if (!text || text.length > MAX_SUMMARY_BYTES) return undefined;
  try {
    const v = JSON.parse(text) as Partial<NodeEntry>;
    if (typeof v.node !== 'string' || typeof v.link !== 'string' || typeof v.totals !== 'object' || !Array.isArray(v.clients)) return undefined;
    return { node: v.node, link: v.link, publishedAt: Number(v.publishedAt) || 0, totals: v.totals, clients: v.clients, truncated: v.truncated === true };
  } catch {
    return undefined;
  }
}
