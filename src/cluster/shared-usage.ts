import type { Logger } from '../util/logger.js';
import { describeError } from '../util/errors.js';
import { RedisState, type RedisLink } from './redis-link.js';

/** How often a node adds its traffic to Redis and reads the totals back: the most a quota can be overshot by, per node. */
const FLUSH_INTERVAL_MS = 2000;
/** A period's counter outlives the period (at most 31 days) by a week or so, then Redis drops it. */
const KEEP_AFTER_PERIOD_START_MS = 40 * 24 * 3600_000;
/** (user, period) pairs followed at most; more are not watched (their totals read as this node's own traffic). */
const MAX_WATCHED = 100_000;
/** Keys per MGET, so one command never holds Redis for long. */
const MGET_BATCH = 1000;
/** Other nodes' connection counts read at most. */
const MAX_NODES = 256;

const usageKey = (user: string, periodStart: number): string => `burrow:usage:${periodStart}:${user}`;
const CONNS_NODES = 'burrow:conns';
const connsKey = (node: string): string => `burrow:conns:${node}`;

/** `user` NUL `periodStart`, split at the last NUL (the number has none, whatever the name holds). */
const pairKey = (user: string, periodStart: number): string => `${user}\0${periodStart}`;
function splitPair(k: string): { user: string; periodStart: number } {
  const at = k.lastIndexOf('\0');
  return { user: k.slice(0, at), periodStart: Number(k.slice(at + 1)) };
}

/**
 * The users' usage shared by the nodes of a cluster (issue 25 in issue 22's
 * Redis): traffic per user and quota period is one counter,
 * `burrow:usage:<periodStart>:<user>`, that every node adds to with INCRBY
 * every two seconds (a new period is a new key, which expires some weeks
 * after its start); each node reads the totals back then, so a user's
 * traffic on two nodes adds up against one quota. Each node also publishes
 * its open user connections per user under a lease (`burrow:conns:<node>`,
 * listed in the sorted set `burrow:conns` by lease end), which the others
 * add to their own for maxConnections.
 *
 * Checks stay synchronous: they read the last totals plus this node's
 * traffic not yet added. While Redis is away the node keeps counting
 * locally and adds it all when Redis returns; meanwhile its limits see the
 * last totals read plus its own traffic, and other nodes' connections until
 * their lease would have ended.
 */
export class SharedUsage {
  readonly saveIntervalMs = FLUSH_INTERVAL_MS;
  /** last totals read from Redis (our own increments included), per pair; every key here is read back at each flush */
  private readonly totals = new Map<string, number>();
  /** bytes counted here and not yet added in Redis */
  private pending = new Map<string, number>();
  /** bytes on their way to Redis (a flush under way) */
  private inflight = new Map<string, number>();
  /** user connections on the other nodes, as last read, and until when that reading holds */
  private others = new Map<string, number>();
  private othersUntil = 0;
  private flushing: Promise<void> = Promise.resolve();
  private lastOpen: ReadonlyMap<string, number> = new Map();

  constructor(
    private readonly redis: RedisLink,
    private readonly node: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // Back from an outage: what was counted meanwhile goes in now, and the totals are read again.
    redis.on('up', () => {
      this.save(this.lastOpen).catch((err: unknown) => this.log.debug('usage: flush after Redis returned failed', { reason: describeError(err) }));
    });
  }

  get where(): string {
    return 'the cluster (Redis)';
  }

  /** Nothing to read at start: totals come with the first flush once Redis is up. */
  load(): void {}

  used(name: string, periodStart: number): number {
    const k = pairKey(name, periodStart);
    let total = this.totals.get(k);
    if (total === undefined) {
      total = 0;
      // Asked once, followed from now on: the next flush reads its total.
      if (this.totals.size < MAX_WATCHED) this.totals.set(k, 0);
    }
    return total + (this.pending.get(k) ?? 0) + (this.inflight.get(k) ?? 0);
  }

  add(name: string, bytes: number, periodStart: number): void {
    if (bytes <= 0) return;
    const k = pairKey(name, periodStart);
    this.pending.set(k, (this.pending.get(k) ?? 0) + bytes);
  }

  elsewhere(name: string): number {
    return this.othersUntil > this.now() ? (this.others.get(name) ?? 0) : 0;
  }

  /** Adds what was counted, publishes `open`, reads the totals and the other nodes' connections back. One at a time. */
  save(open: ReadonlyMap<string, number>): Promise<void> {
    this.lastOpen = open;
    // Away: keep counting here; RedisLink said so once, and 'up' flushes it all.
    if (this.redis.state !== RedisState.Up) return Promise.resolve();
    const next = this.flushing.then(() => this.flush(open));
    this.flushing = next.catch(() => {});
    return next;
  }

  private async flush(open: ReadonlyMap<string, number>): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.inflight = batch;
    const now = this.now();
    const lease = Math.max(this.leaseMs, 3 * FLUSH_INTERVAL_MS);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await this.redis.run((r) => {
        const m = r.multi();
        for (const [k, bytes] of batch) {
          const { user, periodStart } = splitPair(k);
          m.incrby(usageKey(user, periodStart), bytes);
          m.pexpireat(usageKey(user, periodStart), periodStart + KEEP_AFTER_PERIOD_START_MS);
        }
        m.set(connsKey(this.node), JSON.stringify(Object.fromEntries(open)), 'PX', lease);
        m.zadd(CONNS_NODES, now + lease, this.node);
        m.zremrangebyscore(CONNS_NODES, '-inf', now);
        return m.exec();
      });
      if (!replies) throw new Error('transaction aborted');
    } catch (err) {
      // Not added: counted again with what comes next (a reply lost after Redis applied it counts twice: the safe side of a quota).
      for (const [k, bytes] of batch) this.pending.set(k, (this.pending.get(k) ?? 0) + bytes);
      this.inflight = new Map();
      throw err;
    }
    let i = 0;
    for (const k of batch.keys()) {
      const [err, value] = replies[i] ?? [null, null];
      if (!err && value !== null) this.totals.set(k, Number(value));
      i += 2;
    }
    this.inflight = new Map();
    await this.readBack(now);
  }

  private async readBack(now: number): Promise<void> {
    const pairs = [...this.totals.keys()];
    for (let i = 0; i < pairs.length; i += MGET_BATCH) {
      const slice = pairs.slice(i, i + MGET_BATCH);
      const values = await this.redis.run((r) => r.mget(...slice.map((k) => usageKey(splitPair(k).user, splitPair(k).periodStart))));
      slice.forEach((k, j) => {
        const v = Number(values[j] ?? 0);
        this.totals.set(k, Number.isSafeInteger(v) && v >= 0 ? v : 0);
      });
    }
    const nodes = await this.redis.run((r) => r.zrangebyscore(CONNS_NODES, now, '+inf', 'LIMIT', 0, MAX_NODES));
    const peers = nodes.filter((n) => n !== this.node);
    const others = new Map<string, number>();
    if (peers.length > 0) {
      const texts = await this.redis.run((r) => r.mget(...peers.map(connsKey)));
      for (const text of texts) for (const [user, n] of Object.entries(parseCounts(text))) others.set(user, (others.get(user) ?? 0) + n);
    }
    this.others = others;
    this.othersUntil = now + Math.max(this.leaseMs, 3 * FLUSH_INTERVAL_MS);
    // Periods that ended: not followed any more (their keys expire in Redis on their own).
    if (this.totals.size > MAX_WATCHED / 2) this.dropOldPeriods();
  }

  /** Keeps only the newest period of each user among the followed pairs. */
  private dropOldPeriods(): void {
    const newest = new Map<string, number>();
    for (const k of this.totals.keys()) {
      const { user, periodStart } = splitPair(k);
      newest.set(user, Math.max(newest.get(user) ?? 0, periodStart));
    }
    for (const k of [...this.totals.keys()]) {
      const { user, periodStart } = splitPair(k);
      if (periodStart < (newest.get(user) ?? 0) && !this.pending.has(k)) this.totals.delete(k);
    }
  }
}

/** A node's published `{user: count}`; anything else reads as nothing. */
function parseCounts(text: string | null): Record<string, number> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return {};
    const out: Record<string, number> = {};
    for (const [user, n] of Object.entries(v)) if (Number.isSafeInteger(n) && (n as number) > 0) out[user] = n as number;
    return out;
  } catch {
    return {};
  }
}
