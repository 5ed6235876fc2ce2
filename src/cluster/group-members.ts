import { EventEmitter } from 'node:events';
import { candidateDomains } from '../vhost/router.js';
import { MEMBERS_PREFIX } from './group-claims.js';
import type { RedisLink } from './redis-link.js';

/** Groups read per refresh at most, and entries kept per group: the table stays bounded. */
const MAX_GROUPS = 20_000;
const MAX_NODES_PER_GROUP = 64;
const SCAN_COUNT = 1000;

/** One other node with members of a group. */
export interface GroupNode {
  /** node name */
  readonly n: string;
  /** its internal link, host:port */
  readonly l: string;
  /** when its entry runs out unless renewed (on this node's clock) */
  readonly expiresAt: number;
}

/**
 * The other nodes' members of every group spanning nodes (group-claims.ts),
 * read every `refreshMs`, and the round robin over them. A node whose link
 * did not answer is skipped (`suspect`) until its entry is renewed after
 * that, so one user, not every user for a lease, meets a dead node.
 * Event 'changed': the set of tcp ports with remote members changed.
 */
export class GroupMembers extends EventEmitter {
  private table = new Map<string, GroupNode[]>();
  private readonly turn = new Map<string, number>();
  /** link → when it failed: skipped until an entry newer than that is read */
  private readonly suspects = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private lastTcp = '';

  constructor(
    private readonly redis: RedisLink,
    private readonly nodeName: string,
    private readonly refreshMs: number,
    private readonly leaseMs: number,
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
    this.table.clear();
  }

  /** The other nodes with live members of group claim `kind`/`id`, suspects left out. */
  nodes(kind: string, id: string): GroupNode[] {
    const now = this.now();
    return (this.table.get(`${kind}:${id}`) ?? []).filter((g) => g.expiresAt > now && !this.isSuspect(g));
  }

  /** The group claim a vhost name falls under, as routers match (exact, then wildcards); undefined when none has other nodes. */
  domainId(kind: 'http' | 'https' | 'tcpmux', domain: string): string | undefined {
    return candidateDomains(domain.toLowerCase()).find((d) => this.table.has(`${kind}:${d}`));
  }

  /**
   * The next pick of a round robin over `local` slots (this node's members)
   * and one slot per other node: a node, or undefined for a local member.
   */
  pick(kind: string, id: string, local: number): GroupNode | undefined {
    const others = this.nodes(kind, id);
    const slots = local + others.length;
    if (others.length === 0 || slots === 0) return undefined;
    const key = `${kind}:${id}`;
    const at = (this.turn.get(key) ?? 0) % slots;
    this.turn.set(key, at + 1);
    return at < local ? undefined : others[at - local];
  }

  /** The link of `node` did not answer: skip it until its entry is renewed (it may have restarted). */
  suspect(node: GroupNode): void {
    this.suspects.set(node.l, this.now());
  }

  private isSuspect(g: GroupNode): boolean {
    const since = this.suspects.get(g.l);
    if (since === undefined) return false;
    // An entry renewed after the failure ends its lease later than a lease after the failure.
    if (g.expiresAt > since + this.leaseMs) {
      this.suspects.delete(g.l);
      return false;
    }
    return true;
  }

  /** Each group claim with live members elsewhere and those nodes' names, for the dashboard; at most `max`. */
  entries(max: number): Array<{ kind: string; id: string; nodes: string[] }> {
    const now = this.now();
    const out: Array<{ kind: string; id: string; nodes: string[] }> = [];
    for (const [key, nodes] of this.table) {
      if (out.length >= max) break;
      const live = nodes.filter((g) => g.expiresAt > now).map((g) => g.n);
      const colon = key.indexOf(':');
      if (live.length > 0) out.push({ kind: key.slice(0, colon), id: key.slice(colon + 1), nodes: live });
    }
    return out;
  }

  /** tcp ports of groups with members on other nodes, with the first such node (mirrors open them). */
  tcpPorts(): Map<number, GroupNode> {
    const out = new Map<number, GroupNode>();
    const now = this.now();
    for (const [key, nodes] of this.table) {
      const live = nodes.find((g) => g.expiresAt > now);
      if (key.startsWith('tcp:') && live) out.set(Number(key.slice(4)), live);
    }
    return out;
  }

  /** Reads the table and announces its tcp ports even if unchanged (a local member left: its port needs a mirror now). */
  resync(): Promise<void> {
    this.lastTcp = '';
    return this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      this.table = await this.redis.run((r) => this.read(r));
    } catch {
      // Redis away: each entry serves until its lease ends.
    } finally {
      this.refreshing = false;
      this.announce();
    }
  }

  private async read(redis: Parameters<Parameters<RedisLink['run']>[0]>[0]): Promise<Map<string, GroupNode[]>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${MEMBERS_PREFIX}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0' && keys.length < MAX_GROUPS);
    const out = new Map<string, GroupNode[]>();
    if (keys.length === 0) return out;
    const pipeline = redis.pipeline().time();
    for (const key of keys) pipeline.zrange(key, 0, MAX_NODES_PER_GROUP - 1, 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    const time = replies[0]?.[1] as [string, string] | undefined;
    if (!time) return out;
    const redisNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const now = this.now();
    keys.forEach((key, i) => {
      const flat = replies[i + 1]?.[1];
      if (!Array.isArray(flat)) return;
      const nodes: GroupNode[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const entry = parseEntry(String(flat[j]));
        const left = Number(flat[j + 1]) - redisNow;
        if (entry && entry.n !== this.nodeName && left > 0) nodes.push({ ...entry, expiresAt: now + left });
      }
      if (nodes.length > 0) out.set(key.slice(MEMBERS_PREFIX.length), nodes);
    });
    return out;
  }

  private announce(): void {
    const summary = [...this.tcpPorts()].map(([p, g]) => `${p}@${g.l}`).join(',');
    if (summary === this.lastTcp) return;
    this.lastTcp = summary;
    this.emit('changed');
  }
}

function parseEntry(text: string): { n: string; l: string } | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return typeof v.n === 'string' && typeof v.l === 'string' ? { n: v.n, l: v.l } : undefined;
  } catch {
    return undefined;
  }
}
