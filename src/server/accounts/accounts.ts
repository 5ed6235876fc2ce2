import { quotaPeriodStart } from '../../config/account-terms.js';
import type { UserAccountConfig } from '../../config/types.js';
import type { ServerProxy } from '../../proxy/types.js';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { Account } from './account.js';
import type { UsageLedger } from './usage-store.js';
import { UserTable } from './user-table.js';

export enum AccountsState {
  Idle = 'idle',
  Running = 'running',
  Stopped = 'stopped',
}

/** One account's standing for the dashboard: usage against each limit. */
export interface AccountReport {
  name: string;
  proxies: number;
  maxProxies: number;
  connections: number;
  maxConnections: number;
  bandwidthLimit: string;
  trafficUsed: number;
  trafficQuota: number;
  periodStart: string;
  expires: string;
  expired: boolean;
  disabled: boolean;
  /** the limits as configured, for the dashboard's editor */
  limits: {
    allowPorts: { start: number; end: number }[];
    allowDomains: string[];
    trafficQuota: string;
    quotaResetDay: number;
    expires: string;
  };
}

/**
 * The server's accounts (`[[users]]`) and what they used: the table logins
 * are checked against, the traffic counters (folded in from the live
 * proxies' byte counts, saved at a bounded rate) and the per-connection
 * admission (expiry, quota, maxConnections). Registration limits are in
 * registration.ts; the login check in login.ts asks loginRefusal.
 */
export class Accounts {
  state = AccountsState.Idle;
  private table: UserTable;
  /** each live proxy of a listed user, with the bytes of it already added to the counters */
  private readonly live = new Map<ServerProxy, { user: string; counted: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    users: readonly UserAccountConfig[],
    /** the counters: a file beside the config (UsageStore), or the cluster's Redis */
    private readonly usage: UsageLedger,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** `usersFile` is set: accounts are in use even while none is listed (the dashboard adds them) */
    private readonly managed = false,
  ) {
    this.table = new UserTable(users);
  }

  /**
   * whether accounts are in use (a user listed, or a users file named):
   * without, every login uses auth.token as before; with, a name not listed
   * logs in only with a non-empty auth.token
   */
  get listed(): boolean {
    return this.managed || this.table.size > 0;
  }

  find(name: string): Account | undefined {
    return this.table.get(name);
  }

  /** Reads the saved counters (a bad file stops the start with a readable error) and starts the periodic save. */
  start(): void {
    if (this.state !== AccountsState.Idle) return;
    this.usage.load();
    // Followed from the start: a shared ledger reads these totals at its first flush, before the first login asks.
    for (const a of this.table.values()) if (a.quotaBytes > 0) this.usage.used(a.name, quotaPeriodStart(a.quotaResetDay, this.now()));
    this.state = AccountsState.Running;
    this.timer = setInterval(() => void this.persist(), this.usage.saveIntervalMs);
    this.timer.unref();
  }

  /** Counts what the live proxies moved and writes the counters a last time. */
  async stop(): Promise<void> {
    if (this.state === AccountsState.Stopped) return;
    this.state = AccountsState.Stopped;
    clearInterval(this.timer);
    await this.persist();
  }

  /** Folds in the live proxies' bytes and writes the counters (the file only when they changed; Redis: the increments, and the totals read back). */
  async persist(): Promise<void> {
    this.collect();
    const open = new Map<string, number>();
    for (const a of this.table.values()) if (a.openConnections > 0) open.set(a.name, a.openConnections);
    try {
      await this.usage.save(open);
    } catch (err) {
      this.log.warn("could not save the users' traffic counters; will try again", { where: this.usage.where, reason: describeError(err) });
    }
  }

  /**
   * Replaces the table with `users` (a tokenFile that cannot be read throws
   * and nothing changes). Returns the names whose sessions must end: removed
   * or changed accounts.
   */
  replace(users: readonly UserAccountConfig[]): string[] {
    const next = new UserTable(users, this.table);
    const revoked = this.table.revokedBy(next);
    this.collect();
    this.table = next;
    return revoked;
  }

  proxyStarted(account: Account, proxy: ServerProxy): void {
    this.live.set(proxy, { user: account.name, counted: bytesOf(proxy) });
  }

  proxyClosed(proxy: ServerProxy): void {
    const entry = this.live.get(proxy);
    if (!entry) return;
    this.collectOne(proxy, entry);
    this.live.delete(proxy);
  }

  /** Bytes `account` used in its current period, live proxies included. */
  usedBytes(account: Account): number {
    this.collect();
    return this.usage.used(account.name, quotaPeriodStart(account.quotaResetDay, this.now()));
  }

  /** Why this account may not log in now (expired, quota used up), naming the limit; undefined when it may. */
  loginRefusal(account: Account): string | undefined {
    return this.standingRefusal(account);
  }

  /**
   * A place for one more user connection of `account`: the release to call
   * when it ends, or why not (expired, quota used up, maxConnections).
   */
  admitConnection(account: Account): (() => void) | string {
    const refusal = this.standingRefusal(account);
    if (refusal) return refusal;
    // In a cluster the user's connections on the other nodes count too (as last published: see docs/cluster.md).
    if (account.maxConnections > 0 && account.openConnections + this.usage.elsewhere(account.name) >= account.maxConnections) {
      return `user [${account.name}]: maxConnections ${account.maxConnections} reached`;
    }
    account.openConnections++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      account.openConnections--;
    };
  }

  /** usage against each limit, for the dashboard */
  report(proxiesOf: (user: string) => number): AccountReport[] {
    this.collect();
    const now = this.now();
    return [...this.table.values()].map((a) => {
      const periodStart = quotaPeriodStart(a.quotaResetDay, now);
      return {
        name: a.name,
        proxies: proxiesOf(a.name),
        maxProxies: a.maxProxies,
        connections: a.openConnections + this.usage.elsewhere(a.name),
        maxConnections: a.maxConnections,
        bandwidthLimit: a.config.bandwidthLimit,
        trafficUsed: this.usage.used(a.name, periodStart),
        trafficQuota: a.quotaBytes,
        periodStart: new Date(periodStart).toISOString(),
        expires: a.expiresAt === undefined ? '' : new Date(a.expiresAt).toISOString(),
        expired: a.expired(now),
        disabled: a.config.disabled,
        limits: {
          allowPorts: a.allowPorts.map((r) => ({ start: r.start, end: r.end })),
          allowDomains: [...a.allowDomains],
          trafficQuota: a.config.trafficQuota,
          quotaResetDay: a.quotaResetDay,
          expires: a.config.expires,
        },
      };
    });
  }

  private standingRefusal(account: Account): string | undefined {
    if (account.config.disabled) return `user [${account.name}]: account disabled`;
    const now = this.now();
    if (account.expired(now)) return `user [${account.name}]: account expired (expires = "${account.config.expires}")`;
    if (account.quotaBytes > 0) {
      const used = this.usedBytes(account);
      if (used >= account.quotaBytes) {
        const since = new Date(quotaPeriodStart(account.quotaResetDay, now)).toISOString().slice(0, 10);
        return `user [${account.name}]: trafficQuota ${account.config.trafficQuota} used up since ${since} (${used} bytes)`;
      }
    }
    return undefined;
  }

  private collect(): void {
    for (const [proxy, entry] of this.live) this.collectOne(proxy, entry);
  }

  private collectOne(proxy: ServerProxy, entry: { user: string; counted: number }): void {
    const total = bytesOf(proxy);
    const delta = total - entry.counted;
    if (delta <= 0) return;
    entry.counted = total;
    const account = this.table.get(entry.user);
    // A proxy of a revoked account is being closed: its last bytes still count against the name.
    const resetDay = account?.quotaResetDay ?? 1;
    this.usage.add(entry.user, delta, quotaPeriodStart(resetDay, this.now()));
  }
}

function bytesOf(proxy: ServerProxy): number {
  return proxy.traffic.bytesIn + proxy.traffic.bytesOut;
}
