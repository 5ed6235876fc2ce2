import { EventEmitter } from 'node:events';
import type { Logger } from '../util/logger.js';
import { describeError } from '../util/errors.js';
import { parseClaimValue, type ClaimValue } from './claims.js';
import type { RedisLink } from './redis-link.js';

/**
 * Takes a key when it is free, already ours, held for the same client (run
 * id and user: a run id alone, which the dashboard shows, must not hand one
 * user's names to another) by any node, or left by an earlier run of this
 * node (same node name, not in this run's table: that run is gone). A client that lost its node and
 * logged in again through another takes its names back at once, without
 * waiting for the old lease. Returns '' when granted, else the holder's value.
 */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  local ok, held = pcall(cjson.decode, cur)
  local taken = ok and type(held) == 'table' and ((ARGV[3] ~= '' and held.r == ARGV[3] and held.u == ARGV[5]) or held.n == ARGV[4])
  if not taken then return cur end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''`;

/**
 * Extends every key of this node (KEYS[i] with value ARGV[i+1]); one that
 * vanished (Redis restarted empty) is written again; one another node took
 * over is reported lost by its index.
 */
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
  local cur = redis.call('GET', key)
  if cur == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1])
  elseif not cur then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else lost[#lost + 1] = i end
end
return lost`;

/** Deletes a key only while it still holds our value. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Keys renewed per script call, so one call never holds Redis for long. */
const RENEW_BATCH = 500;

interface Held {
  value: string;
  /** local holders (one domain may carry several routes on this node) */
  count: number;
}

/**
 * This node's claims in Redis: each one a key with a lease (SET PX) that a
 * heartbeat extends every third of the lease, so a node that dies loses them
 * within one lease. Counted locally: the first holder writes the key, the
 * last one deletes it (compare-and-delete, so a key another node took over
 * stays). Event 'lost' (key, ClaimValue we had written): another node took it over.
 */
export class LeaseTable extends EventEmitter {
  private readonly held = new Map<string, Held>();
  /** the last claim in progress per key, so claims of one key run one after another */
  private readonly claiming = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** releases on their way, awaited by a graceful stop so they reach Redis before the connection closes */
  private readonly releasing = new Set<Promise<unknown>>();

  constructor(
    private readonly redis: RedisLink,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renew(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** undefined when the key is now ours (one more local holder); else who holds it. Throws BURROW_CLUSTER_UNAVAILABLE. */
  async claim(key: string, value: ClaimValue): Promise<ClaimValue | undefined> {
    // One claim of a key at a time on this node: a second registration of the same domain here
    // must count on the first, not race it in Redis and overwrite its value.
    const before = this.claiming.get(key);
    const mine = (before ?? Promise.resolve()).then(() => this.claimNow(key, value));
    const settled = mine.then(
      () => {},
      () => {},
    );
    this.claiming.set(key, settled);
    void settled.then(() => {
      if (this.claiming.get(key) === settled) this.claiming.delete(key);
    });
    return mine;
  }

  private async claimNow(key: string, value: ClaimValue): Promise<ClaimValue | undefined> {
    const mine = this.held.get(key);
    if (mine) {
      mine.count += 1;
      return undefined;
    }
    const text = JSON.stringify(value);
    const cur = await this.redis.run((r) => r.eval(CLAIM, 1, key, text, this.leaseMs, value.r, value.n, value.u) as Promise<string>);
    if (cur !== '') return parseClaimValue(cur) ?? { n: '?', l: '', r: '', u: '', p: '?' };
    this.held.set(key, { value: text, count: 1 });
    return undefined;
  }

  /** One local holder fewer; the last one deletes the key (best effort: if Redis is away the lease runs out). */
  release(key: string): void {
    const mine = this.held.get(key);
    if (!mine || --mine.count > 0) return;
    this.held.delete(key);
    const done = this.redis
      .run((r) => r.eval(RELEASE, 1, key, mine.value))
      .catch((err: unknown) => {
        this.log.debug('cluster: claim not released; its lease will run out', { key, reason: describeError(err) });
      })
      .finally(() => this.releasing.delete(done));
    this.releasing.add(done);
  }

  /** keys this node holds now */
  get size(): number {
    return this.held.size;
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  private async renew(): Promise<void> {
    const entries = [...this.held.entries()];
    for (let i = 0; i < entries.length; i += RENEW_BATCH) {
      const batch = entries.slice(i, i + RENEW_BATCH);
      let lost: number[];
      try {
        lost = await this.redis.run(
          (r) => r.eval(RENEW, batch.length, ...batch.map(([k]) => k), this.leaseMs, ...batch.map(([, h]) => h.value)) as Promise<number[]>,
        );
      } catch {
        return; // Redis away: RedisLink said so; what we hold keeps serving and is renewed when it is back
      }
      for (const index of lost) {
        const [key, held] = batch[index - 1]!;
        if (this.held.get(key) !== held) continue;
        this.held.delete(key);
        this.log.warn('cluster: a claim of this node was taken over by another node', { key });
        const value = parseClaimValue(held.value);
        if (value) this.emit('lost', key, value);
      }
    }
  }

  /** Stops renewing. `release` false leaves the keys to expire, as a node that died would. */
  async stop(release: boolean): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const held = [...this.held];
    this.held.clear();
    if (!release) return;
    await Promise.allSettled([...this.releasing, ...held.map(([key, h]) => this.redis.run((r) => r.eval(RELEASE, 1, key, h.value)))]);
  }
}
