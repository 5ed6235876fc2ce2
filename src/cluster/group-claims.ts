import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { CLAIM_PREFIX, claimKey, type ClaimKind } from './claims.js';
import type { RedisLink } from './redis-link.js';

/**
 * Group claims (docs/cluster.md, "Groups across nodes"): a port, a domain or
 * (for the sessions of one client) a proxy name shared by the members of one
 * load-balancing group on any number of nodes.
 *
 * In Redis, two keys per claim:
 * - `burrow:claim:<kind>:<id>` holds `{"g":group,"h":keyMac}`, the same
 *   string from every node, so an ordinary claim of the same port or domain
 *   meets it and is refused, and any member's node may renew it. It carries no
 *   node (`n`), so the table of exclusive routes (remote-routes.ts) skips it.
 * - `burrow:members:<kind>:<id>`, a sorted set: one entry per node with
 *   members (`{"n":node,"l":link}`), scored by the end of that node's lease
 *   on Redis's clock. A node that dies stops renewing its entry, and readers
 *   drop it once its score is past: its members leave within one lease.
 * The last node to leave deletes both keys.
 */
export const MEMBERS_PREFIX = 'burrow:members:';

export function membersKey(kind: ClaimKind, id: string): string {
  return `${MEMBERS_PREFIX}${kind}:${id}`;
}

/** The members' key of a claim key. */
function membersOfClaim(claim: string): string {
  return MEMBERS_PREFIX + claim.slice(CLAIM_PREFIX.length);
}

/** Redis's clock in ms, inside a script (effects replication, Redis 5+). */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: claim, members. ARGV: group value, lease ms, member entry, group, key mac.
 * '' when joined; 'key' when the group exists with another key; else the holder's value.
 */
const JOIN = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and held.g == ARGV[4] and held.h ~= ARGV[5] then return 'key' end
  return cur
end
${NOW}
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ''`;

/**
 * KEYS: claim1, members1, claim2, members2, … ARGV: lease ms, then value and
 * member entry per pair. A claim that vanished (Redis restarted empty) is
 * written again; one now holding something else is reported by pair index.
 */
const RENEW = `
${NOW}
local lost = {}
for i = 1, #KEYS, 2 do
  local value = ARGV[i + 1]
  local cur = redis.call('GET', KEYS[i])
  if cur and cur ~= value then lost[#lost + 1] = (i + 1) / 2
  else
    redis.call('SET', KEYS[i], value, 'PX', ARGV[1])
    -- dead nodes' entries go here too, so readers never meet more than a lease's worth of them
    redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', now)
    redis.call('ZADD', KEYS[i + 1], now + tonumber(ARGV[1]), ARGV[i + 2])
    redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
  end
end
return lost`;

/** KEYS: claim, members. ARGV: group value, member entry. The last live member's leave deletes both. */
const LEAVE = `
${NOW}
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[2])
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
return 0`;

/** Claims renewed per script call, so one call never holds Redis for long. */
const RENEW_BATCH = 250;

/** What a member brings: the group's name and key (an implicit group of one client's sessions has its own name). */
export interface GroupSpec {
  readonly group: string;
  readonly key: string;
}

export type GroupRefusal = { reason: 'key' } | { reason: 'held' };

interface Held {
  value: string;
  entry: string;
  /** local members (proxies, or routes of one domain) */
  count: number;
  /** an implicit group of one client's sessions: users are served by the local member */
  implicit: boolean;
}

/** The prefix of implicit groups' names: never a name a client could send as `loadBalancer.group` with the same mac. */
export const IMPLICIT_GROUP_PREFIX = '@sessions/';

/**
 * This node's group memberships in Redis, counted locally (the first local
 * member joins, the last leaves) and renewed every third of the lease.
 * Event 'lost' (claim key): the claim now holds something else (Redis lost
 * it and another claimant came first); this node stops renewing it.
 */
export class GroupClaims extends EventEmitter {
  private readonly held = new Map<string, Held>();
  private readonly joining = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisLink,
    private readonly secret: string,
    private readonly node: () => { n: string; l: string },
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renew(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** The value every node writes for `spec`: the key travels as a MAC under the cluster secret, never in the clear. */
  valueFor(spec: GroupSpec): string {
    const h = createHmac('sha256', this.secret).update(`group-key\0${spec.key}`).digest('hex').slice(0, 32);
    return JSON.stringify({ g: spec.group, h });
  }

  /** Whether this node holds claim `kind`/`id` as an implicit group (users stay on the local member). */
  isImplicit(kind: ClaimKind, id: string): boolean {
    return this.held.get(claimKey(kind, id))?.implicit === true;
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * One more local member of `spec` on `kind`/`id`: undefined when joined,
   * else why not. Throws BURROW_CLUSTER_UNAVAILABLE when Redis is away.
   */
  async join(kind: ClaimKind, id: string, spec: GroupSpec): Promise<GroupRefusal | undefined> {
    const key = claimKey(kind, id);
    // One join of a key at a time on this node, so the count and the Redis write agree.
    const before = this.joining.get(key) ?? Promise.resolve();
    const mine = before.then(() => this.joinNow(kind, id, spec));
    const settled = mine.catch(() => {});
    this.joining.set(key, settled);
    void settled.then(() => {
      if (this.joining.get(key) === settled) this.joining.delete(key);
    });
    return mine;
  }

  private async joinNow(kind: ClaimKind, id: string, spec: GroupSpec): Promise<GroupRefusal | undefined> {
    const key = claimKey(kind, id);
    const value = this.valueFor(spec);
    const mine = this.held.get(key);
    if (mine) {
      if (mine.value !== value) return this.refusalFor(mine.value, spec);
      mine.count += 1;
      return undefined;
    }
    const entry = JSON.stringify(this.node());
    const h = (JSON.parse(value) as { h: string }).h;
    const cur = await this.redis.run((r) => r.eval(JOIN, 2, key, membersKey(kind, id), value, this.leaseMs, entry, spec.group, h) as Promise<string>);
    if (cur === 'key') return { reason: 'key' };
    if (cur !== '') return { reason: 'held' };
    this.held.set(key, { value, entry, count: 1, implicit: spec.group.startsWith(IMPLICIT_GROUP_PREFIX) });
    return undefined;
  }

  private refusalFor(heldValue: string, spec: GroupSpec): GroupRefusal {
    const held = JSON.parse(heldValue) as { g: string };
    return held.g === spec.group ? { reason: 'key' } : { reason: 'held' };
  }

  /** One local member fewer; the last one leaves the group in Redis (best effort: otherwise the lease runs out). */
  leave(kind: ClaimKind, id: string): void {
    const key = claimKey(kind, id);
    const mine = this.held.get(key);
    if (!mine || --mine.count > 0) return;
    this.held.delete(key);
    this.redis
      .run((r) => r.eval(LEAVE, 2, key, membersKey(kind, id), mine.value, mine.entry))
      .catch((err: unknown) => this.log.debug('cluster: group left locally; its entry runs out with the lease', { key, reason: describeError(err) }));
  }

  private async renew(): Promise<void> {
    const entries = [...this.held.entries()];
    for (let i = 0; i < entries.length; i += RENEW_BATCH) {
      const batch = entries.slice(i, i + RENEW_BATCH);
      const keys = batch.flatMap(([k]) => [k, membersOfClaim(k)]);
      let lost: number[];
      try {
        lost = await this.redis.run(
          (r) => r.eval(RENEW, keys.length, ...keys, this.leaseMs, ...batch.flatMap(([, h]) => [h.value, h.entry])) as Promise<number[]>,
        );
      } catch {
        return; // Redis away: RedisLink said so; members keep serving and are renewed when it is back
      }
      for (const index of lost) {
        const [key, held] = batch[index - 1]!;
        if (this.held.get(key) !== held) continue;
        this.held.delete(key);
        this.log.warn('cluster: a group claim of this node now holds something else', { key });
        this.emit('lost', key);
      }
    }
  }

  /** Stops renewing; `release` leaves every group in Redis (a clean stop), else entries run out as a dead node's would. */
  async stop(release: boolean): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const held = [...this.held];
    this.held.clear();
    if (!release) return;
    await Promise.allSettled(held.map(([key, h]) => this.redis.run((r) => r.eval(LEAVE, 2, key, membersOfClaim(key), h.value, h.entry))));
  }
}

/** The words a single server uses for a refused member, per kind of claim. */
export function groupRefusalError(kind: ClaimKind, id: string, proxy: string, spec: GroupSpec, refusal: GroupRefusal): BurrowError {
  if (refusal.reason === 'key') {
    return kind === 'tcp'
      ? new BurrowError('BURROW_PROXY_REJECTED', `proxy "${proxy}": group [${spec.group}] auth failed`)
      : new BurrowError('BURROW_PROXY_REJECTED', `proxy [${proxy}]: group [${spec.group}] auth failed: the group key does not match`);
  }
  if (kind === 'tcp') return new BurrowError('BURROW_PROXY_REJECTED', `proxy "${proxy}": remote port ${id} is already in use`);
  if (kind === 'proxy') return new BurrowError('BURROW_PROXY_REJECTED', `proxy "${proxy}" already exists`);
  return new BurrowError('BURROW_PROXY_REJECTED', `proxy [${proxy}]: domain [${id}] is already used by another proxy or group of the cluster`);
}
