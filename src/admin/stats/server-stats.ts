import type { EventEmitter } from 'node:events';
import type { NewProxy } from '../../protocol/messages.js';
import type { ServerProxy } from '../../proxy/types.js';
import type { ControlSession } from '../../server/control-session.js';
import { ClientRecords, type ClientFilter, type ClientSnapshot } from './client-records.js';
import { ProxyRecords, type ProxyCounters, type ProxySnapshot, type ProxyTraffic } from './proxy-records.js';

export { TRAFFIC_DAYS } from './daily-traffic.js';
export type { ClientFilter, ClientSnapshot } from './client-records.js';
export type { ProxyCounters, ProxySnapshot, ProxyTraffic } from './proxy-records.js';

/** Offline records kept by default; beyond this the oldest are dropped. */
export const DEFAULT_MAX_OFFLINE_PROXIES = 10_000;
export const DEFAULT_MAX_OFFLINE_CLIENTS = 10_000;
/**
 * Live counters are folded into the day buckets on every read and when a
 * proxy closes; this timer also folds them now and then so bytes moved just
 * before midnight are not booked on the next day by a late reader.
 */
const DEFAULT_FOLD_INTERVAL_MS = 60_000;

/** What the stats listen to: BurrowServer's events and its live clients. */
export type StatsEventSource = Pick<EventEmitter, 'on' | 'off'> & { readonly clients: readonly ControlSession[] };

export interface ServerStatsOptions {
  /** clock in ms, for tests of the day roll-over */
  now?: () => number;
  maxOfflineProxies?: number;
  maxOfflineClients?: number;
  /** 0 disables the periodic fold */
  foldIntervalMs?: number;
}

export interface ServerSummary {
  todayTrafficIn: number;
  todayTrafficOut: number;
  curConns: number;
  clientCounts: number;
  proxyTypeCounts: Record<string, number>;
}

/**
 * The dashboard's memory of a server: its clients and its proxies, online
 * or not, fed by the server's events. The server does not know it exists:
 * it is built by the dashboard, listens while the dashboard runs, and the
 * server's relay path never touches it. The two lists are independent
 * (a proxy record copies its owner's user and client id when it starts), so
 * each keeps its own invariants: see ClientRecords and ProxyRecords.
 */
export class ServerStats {
  private readonly clientRecords: ClientRecords;
  private readonly proxyRecords: ProxyRecords;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly onClientOnline = (control: ControlSession): void => this.clientRecords.loggedIn(control, this.now());
  private readonly onClientOffline = (control: ControlSession): void => this.clientRecords.loggedOut(control, this.now());
  private readonly onProxyStarted = (control: ControlSession, proxy: ServerProxy, msg: NewProxy): void => this.proxyRecords.started(control, proxy, msg);
  private readonly onProxyClosed = (_control: ControlSession, proxy: ServerProxy): void => this.proxyRecords.closed(proxy);

  constructor(
    private readonly source: StatsEventSource,
    opts: ServerStatsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.clientRecords = new ClientRecords(Math.max(0, opts.maxOfflineClients ?? DEFAULT_MAX_OFFLINE_CLIENTS));
    this.proxyRecords = new ProxyRecords(this.now, Math.max(0, opts.maxOfflineProxies ?? DEFAULT_MAX_OFFLINE_PROXIES));
    source.on('clientOnline', this.onClientOnline);
    source.on('clientOffline', this.onClientOffline);
    source.on('proxyStarted', this.onProxyStarted);
    source.on('proxyClosed', this.onProxyClosed);
    // Whatever is already running when the dashboard starts (no NewProxy at hand: conf from the proxy itself).
    for (const control of source.clients) {
      this.clientRecords.loggedIn(control, this.now());
      for (const proxy of control.proxies.values()) this.proxyRecords.started(control, proxy, undefined);
    }
    const every = opts.foldIntervalMs ?? DEFAULT_FOLD_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.proxyRecords.foldAll(), every);
      this.timer.unref();
    }
  }

  /** Stops listening; the records stay readable. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.source.off('clientOnline', this.onClientOnline);
    this.source.off('clientOffline', this.onClientOffline);
    this.source.off('proxyStarted', this.onProxyStarted);
    this.source.off('proxyClosed', this.onProxyClosed);
  }

  /** Logged-in clients right now (two sessions sharing a client id count twice, as frp). */
  get clientCount(): number {
    return this.source.clients.length;
  }

  summary(): ServerSummary {
    return { ...this.proxyRecords.totals(), clientCounts: this.clientCount, proxyTypeCounts: this.proxyRecords.onlineByType() };
  }

  /** Records of one type (online and offline), sorted by name. */
  proxiesByType(type: string): ProxySnapshot[] {
    return this.proxyRecords.byType(type);
  }

  proxy(name: string, type?: string): ProxySnapshot | undefined {
    return this.proxyRecords.get(name, type);
  }

  traffic(name: string): ProxyTraffic | undefined {
    return this.proxyRecords.traffic(name);
  }

  /** Forgets every offline proxy; answers how many went and how many there were. */
  clearOfflineProxies(): { cleared: number; total: number } {
    return this.proxyRecords.clearOffline();
  }

  /** For the Prometheus collectors: every record with its cumulative totals. */
  proxyCounters(): ProxyCounters[] {
    return this.proxyRecords.counters();
  }

  /** Online proxies by type. */
  proxyTypeCounts(): Record<string, number> {
    return this.proxyRecords.onlineByType();
  }

  /** Clients sorted by user, clientID, key, as frp. */
  clients(filter: ClientFilter = {}): ClientSnapshot[] {
    return this.clientRecords.list(filter);
  }

  client(key: string): ClientSnapshot | undefined {
    return this.clientRecords.get(key);
  }
}
