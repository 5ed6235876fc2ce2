import { ClusterBus, type BusMessage } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/node.js';
import { NodeDirectory, type NodeClientSummary, type NodeEntry, type NodeSummary, type NodeTotals } from '../cluster/node-directory.js';
import { SharedUsage } from '../cluster/shared-usage.js';
import type { ServerConfig, UserAccountConfig } from '../config/types.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Accounts } from './accounts/accounts.js';
import { reloadAccountsDetailed } from './accounts/revocation.js';
import { UsageStore, type UsageLedger } from './accounts/usage-store.js';
import type { ControlSession } from './control-session.js';

/** Clients and proxies a node's summary lists at most (the totals count them all). */
const SUMMARY_MAX_CLIENTS = 500;
const SUMMARY_MAX_PROXIES = 2000;

/** What the shared state reads of the server it belongs to. */
export interface SharedHost {
  readonly clients: readonly ControlSession[];
  readonly accounts: Accounts;
}

/** The whole cluster for the dashboard: every live node with its clients and proxies, and the sums. */
export interface ClusterNodesView {
  nodes: NodeEntry[];
  totals: NodeTotals & { nodes: number };
}

/**
 * What a node shares with the others besides claims (docs/cluster.md):
 * the users' usage counters, its statistics for every node's dashboard,
 * and users reloads, which end a revoked user's sessions on every node.
 * Made only for a node of a cluster.
 */
export class ClusterShared {
  readonly usage: SharedUsage;
  private readonly directory: NodeDirectory;
  private readonly bus: ClusterBus;
  /** re-reads this node's `[[users]]` (its config file); set by the command that started the server */
  private usersSource: (() => readonly UserAccountConfig[]) | undefined;

  constructor(
    cluster: ClusterNode,
    private readonly host: SharedHost,
    private readonly log: Logger,
  ) {
    const redis = cluster.redisLink;
    this.usage = new SharedUsage(redis, cluster.name, cluster.leaseMs, log.child({ part: 'usage' }));
    this.directory = new NodeDirectory(
      redis,
      cluster.name,
      () => cluster.link,
      cluster.leaseMs,
      () => this.summary(),
      log,
    );
    this.bus = new ClusterBus(redis, cluster.name, log);
    this.bus.on('message', (msg: BusMessage) => this.onMessage(msg));
    // A reload announced while this node was cut off never arrived: its own users file is read again instead.
    this.bus.on('rejoined', () => this.rereadUsers('the event channel came back'));
  }

  /** After the node joined its cluster. */
  start(): void {
    this.directory.start();
    this.bus.start();
  }

  /** Before the node leaves: it drops out of the dashboards at once. */
  async stop(): Promise<void> {
    this.bus.close();
    await this.directory.stop(true);
  }

  /** whether this node hears the others' users reloads now */
  get listening(): boolean {
    return this.bus.listening;
  }

  /** Where a users reload on another node makes this one re-read its users (the same file on every node: docs/cluster.md). */
  setUsersSource(read: () => readonly UserAccountConfig[]): void {
    this.usersSource = read;
  }

  /** A users reload here (SIGHUP, the dashboard): the other nodes reload too and end the revoked users' sessions. */
  async usersReloaded(revoked: readonly string[]): Promise<void> {
    try {
      await this.bus.publish({ kind: 'users-reloaded', revoked: [...revoked] });
    } catch (err) {
      this.log.warn('cluster: users reload not announced to the other nodes; reload them one by one', { reason: describeError(err) });
    }
  }

  /** Every live node as last read (refreshed every third of a lease; `refresh` reads now). */
  view(): ClusterNodesView {
    const nodes = this.directory.nodes();
    const totals = { nodes: nodes.length, clients: 0, proxies: 0, connections: 0, trafficIn: 0, trafficOut: 0 };
    for (const n of nodes) {
      totals.clients += n.totals.clients;
      totals.proxies += n.totals.proxies;
      totals.connections += n.totals.connections;
      totals.trafficIn += n.totals.trafficIn;
      totals.trafficOut += n.totals.trafficOut;
    }
    return { nodes, totals };
  }

  /** Publishes this node's summary and reads everyone's now. */
  refresh(): Promise<void> {
    return this.directory.tick();
  }

  private rereadUsers(why: string): void {
    const read = this.usersSource;
    if (!read) return;
    try {
      const { closed } = reloadAccountsDetailed(this.host.accounts, this.host.clients, read());
      this.log.info(`users re-read: ${why}`, { closed: closed.join(',') || 'none' });
    } catch (err) {
      this.log.error(`users re-read (${why}) refused, the running accounts are unchanged: ${describeError(err)}`);
    }
  }

  private onMessage(msg: BusMessage): void {
    const closed = new Set<string>();
    let reread = false;
    const read = this.usersSource;
    if (read) {
      try {
        for (const name of reloadAccountsDetailed(this.host.accounts, this.host.clients, read()).closed) closed.add(name);
        reread = true;
      } catch (err) {
        this.log.error(`users reload (asked by node ${msg.from}) refused, the running accounts are unchanged: ${describeError(err)}`);
      }
    }
    // Closed here whatever this node's own file says: the revocation takes effect at once on every node.
    const revoked = new Set(msg.revoked);
    for (const c of this.host.clients) {
      if (!revoked.has(c.user) || c.authSubject === undefined) continue;
      closed.add(c.user);
      c.close(`account of user [${c.user}] removed or changed by a reload on node ${msg.from}`);
    }
    this.log.info('users reloaded by another node', { from: msg.from, reread, closed: [...closed].join(',') || 'none' });
  }

  private summary(): NodeSummary {
    const totals: NodeTotals = { clients: 0, proxies: 0, connections: 0, trafficIn: 0, trafficOut: 0 };
    const clients: NodeClientSummary[] = [];
    let listedProxies = 0;
    let truncated = false;
    for (const c of this.host.clients) {
      totals.clients += 1;
      const entry: NodeClientSummary = {
        runId: c.runId,
        user: c.user,
        // Clipped: a client's Login may carry 10 KB here, and a node summary over its bound is dropped whole by readers.
        hostname: (c.login.hostname ?? '').slice(0, 128),
        version: (c.login.version ?? '').slice(0, 64),
        address: c.remoteAddress,
        proxies: [],
      };
      for (const p of c.proxies.values()) {
        totals.proxies += 1;
        totals.connections += p.activeConnections;
        totals.trafficIn += p.traffic.bytesIn;
        totals.trafficOut += p.traffic.bytesOut;
        if (listedProxies >= SUMMARY_MAX_PROXIES) truncated = true;
        else {
          listedProxies += 1;
          entry.proxies.push({ name: p.name, type: p.type, connections: p.activeConnections, trafficIn: p.traffic.bytesIn, trafficOut: p.traffic.bytesOut });
        }
      }
      if (clients.length < SUMMARY_MAX_CLIENTS) clients.push(entry);
      else truncated = true;
    }
    return { totals, clients, truncated };
  }
}

/**
 * Where the users' usage counters live: the cluster's Redis when the server
 * is a node of one (a user's traffic on every node adds up against one
 * quota), else the file beside the config (or memory).
 */
export function usageLedger(config: ServerConfig, shared: ClusterShared | undefined, log: Logger): UsageLedger {
  if (!shared) return new UsageStore(config.usageFile || undefined);
  if (config.usageFile) log.info("cluster: users' usage counters are kept in Redis; usageFile is not read", { usageFile: config.usageFile });
  return shared.usage;
}
