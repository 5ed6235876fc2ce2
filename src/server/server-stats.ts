import type { EventEmitter } from 'node:events';
import type { NewProxy } from '../protocol/messages.js';
import type { ServerProxy } from '../proxy/types.js';
import type { ControlSession } from './control-session.js';
import { shortRunId } from '../util/peer-string.js';

/** Days of per-proxy traffic kept, as frp: index 0 is today. */
export const TRAFFIC_DAYS = 7;
/** Offline records kept by default; beyond this the oldest are dropped. */
export const DEFAULT_MAX_OFFLINE_PROXIES = 10_000;
export const DEFAULT_MAX_OFFLINE_CLIENTS = 10_000;
/** As frp: a proxy offline for longer than this is forgotten. */
const OFFLINE_PROXY_RETENTION_MS = TRAFFIC_DAYS * 24 * 3600_000;
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

/** One proxy record as the dashboard shows it. Times in ms since the epoch, 0 = never. */
export interface ProxySnapshot {
  name: string;
  type: string;
  user: string;
  /** the owner's client id, or its run id when it has none */
  clientID: string;
  /** the live proxy and the NewProxy that opened it; both absent while offline */
  live?: { proxy: ServerProxy; msg: NewProxy | undefined };
  todayTrafficIn: number;
  todayTrafficOut: number;
  curConns: number;
  lastStart: number;
  lastClose: number;
}

/** One client record. Times in ms since the epoch, 0 = never. */
export interface ClientSnapshot {
  key: string;
  user: string;
  /** the client id it logged in with, or its run id when it has none */
  clientID: string;
  /** empty once offline, as frp */
  runID: string;
  version: string;
  hostname: string;
  ip: string;
  firstConnectedAt: number;
  lastConnectedAt: number;
  disconnectedAt: number;
  online: boolean;
}

export interface ProxyTraffic {
  name: string;
  trafficIn: number[];
  trafficOut: number[];
}

export interface ServerSummary {
  todayTrafficIn: number;
  todayTrafficOut: number;
  curConns: number;
  clientCounts: number;
  proxyTypeCounts: Record<string, number>;
}

/** Per-proxy figures for the Prometheus collectors; totals are cumulative since the record was created. */
export interface ProxyCounters {
  name: string;
  type: string;
  online: boolean;
  curConns: number;
  totalIn: number;
  totalOut: number;
}

export interface ClientFilter {
  user?: string;
  clientId?: string;
  runId?: string;
  /** 'online' | 'offline' | 'all' (anything else = all, as frp) */
  status?: string;
}

/** The local calendar day of `ms`, as a day number: buckets roll over at local midnight, as frp's. */
function localDay(ms: number): number {
  return Math.floor((ms - new Date(ms).getTimezoneOffset() * 60_000) / 86_400_000);
}

/** Byte counts for the last TRAFFIC_DAYS days; a day with no traffic stays 0. */
class DailyCounter {
  private readonly days: number[] = new Array<number>(TRAFFIC_DAYS).fill(0);

  constructor(private latestDay: number) {}

  add(n: number, day: number): void {
    this.roll(day);
    // A clock that went back books on the newest day rather than rewriting history.
    this.days[0]! += n;
  }

  today(day: number): number {
    this.roll(day);
    return this.days[0]!;
  }

  lastDays(day: number): number[] {
    this.roll(day);
    return [...this.days];
  }

  private roll(day: number): void {
    const shift = day - this.latestDay;
    if (shift <= 0) return;
    if (shift >= TRAFFIC_DAYS) this.days.fill(0);
    else {
      this.days.unshift(...new Array<number>(shift).fill(0));
      this.days.length = TRAFFIC_DAYS;
    }
    this.latestDay = day;
  }
}

interface ProxyRecord {
  readonly name: string;
  readonly type: string;
  user: string;
  clientID: string;
  /** kept only while live: it holds the proxy's secrets */
  msg: NewProxy | undefined;
  live: ServerProxy | undefined;
  /** the part of live.traffic already booked */
  foldedIn: number;
  foldedOut: number;
  readonly trafficIn: DailyCounter;
  readonly trafficOut: DailyCounter;
  totalIn: number;
  totalOut: number;
  lastStart: number;
  lastClose: number;
}

/** A client's snapshot plus what the registry needs to follow it. */
interface ClientRecord extends ClientSnapshot {
  readonly key: string;
  readonly user: string;
  rawClientID: string;
  /** the session this record follows; an older session of the same key closing does not mark it offline */
  control: ControlSession | undefined;
}

function clientKey(user: string, id: string): string {
  if (user === '') return id;
  if (id === '') return user;
  return `${user}.${id}`;
}

function stripV4Mapped(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/**
 * The dashboard's memory: one record per proxy name and per client key,
 * online or not, fed by the server's events. Traffic is read from each live
 * proxy's cumulative counters when someone asks (and when the proxy closes),
 * so the relay path never touches this object. Offline records are bounded
 * and the oldest are dropped first.
 */
export class ServerStats {
  private readonly proxies = new Map<string, ProxyRecord>();
  /** offline proxy names, oldest first (a Set iterates in insertion order) */
  private readonly offlineProxies = new Set<string>();
  private readonly clientsByKey = new Map<string, ClientRecord>();
  private readonly offlineClients = new Set<string>();
  private readonly runIndex = new Map<string, string>();
  private readonly typeCounts = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxOfflineProxies: number;
  private readonly maxOfflineClients: number;
  private readonly serverIn: DailyCounter;
  private readonly serverOut: DailyCounter;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly onClientOnline = (control: ControlSession): void => this.clientOnline(control);
  private readonly onClientOffline = (control: ControlSession): void => this.clientOffline(control);
  private readonly onProxyStarted = (control: ControlSession, proxy: ServerProxy, msg: NewProxy): void => this.proxyStarted(control, proxy, msg);
  private readonly onProxyClosed = (_control: ControlSession, proxy: ServerProxy): void => this.proxyClosed(proxy);

  constructor(
    private readonly source: StatsEventSource,
    opts: ServerStatsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxOfflineProxies = Math.max(0, opts.maxOfflineProxies ?? DEFAULT_MAX_OFFLINE_PROXIES);
    this.maxOfflineClients = Math.max(0, opts.maxOfflineClients ?? DEFAULT_MAX_OFFLINE_CLIENTS);
    const today = localDay(this.now());
    this.serverIn = new DailyCounter(today);
    this.serverOut = new DailyCounter(today);
    source.on('clientOnline', this.onClientOnline);
    source.on('clientOffline', this.onClientOffline);
    source.on('proxyStarted', this.onProxyStarted);
    source.on('proxyClosed', this.onProxyClosed);
    // Whatever is already running when the dashboard starts (no NewProxy at hand: conf from the proxy itself).
    for (const control of source.clients) {
      this.clientOnline(control);
      for (const proxy of control.proxies.values()) this.proxyStarted(control, proxy, undefined);
    }
    const every = opts.foldIntervalMs ?? DEFAULT_FOLD_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.foldAll(), every);
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

  // Events

  private clientOnline(control: ControlSession): void {
    const login = control.login;
    const user = login.user ?? '';
    const rawClientID = login.client_id ?? '';
    const clientID = rawClientID || control.runId;
    const key = clientKey(user, clientID);
    const now = this.now();
    // The same run under another key (its client id changed): the old entry is left behind, as frp.
    const previousKey = this.runIndex.get(control.runId);
    if (previousKey !== undefined && previousKey !== key) {
      const previous = this.clientsByKey.get(previousKey);
      if (previous && previous.runID === control.runId) {
        if (previous.rawClientID === '') this.forgetClient(previousKey);
        else this.markClientOffline(previous, now);
      }
      this.runIndex.delete(control.runId);
    }
    let rec = this.clientsByKey.get(key);
    if (!rec) {
      rec = {
        key,
        user,
        rawClientID,
        clientID,
        runID: '',
        version: '',
        hostname: '',
        ip: '',
        firstConnectedAt: now,
        lastConnectedAt: now,
        disconnectedAt: 0,
        online: true,
        control,
      };
      this.clientsByKey.set(key, rec);
    } else if (rec.runID !== '') {
      this.runIndex.delete(rec.runID);
    }
    Object.assign(rec, {
      rawClientID,
      clientID,
      runID: control.runId,
      version: login.version ?? '',
      hostname: login.hostname ?? '',
      ip: stripV4Mapped(control.remoteAddress),
      lastConnectedAt: now,
      disconnectedAt: 0,
      online: true,
      control,
    });
    this.offlineClients.delete(key);
    this.runIndex.set(control.runId, key);
  }

  private clientOffline(control: ControlSession): void {
    const key = this.runIndex.get(control.runId);
    if (key === undefined) return;
    const rec = this.clientsByKey.get(key);
    if (rec && rec.control === control) this.markClientOffline(rec, this.now());
    if (!rec || rec.runID !== control.runId) this.runIndex.delete(control.runId);
  }

  private markClientOffline(rec: ClientRecord, now: number): void {
    // As frp: an offline client no longer has a run id (the next login brings its own).
    if (rec.runID !== '' && this.runIndex.get(rec.runID) === rec.key) this.runIndex.delete(rec.runID);
    rec.runID = '';
    rec.online = false;
    rec.disconnectedAt = now;
    rec.control = undefined;
    this.offlineClients.delete(rec.key);
    this.offlineClients.add(rec.key);
    while (this.offlineClients.size > this.maxOfflineClients) {
      const oldest = this.offlineClients.values().next().value as string;
      this.forgetClient(oldest);
    }
  }

  private forgetClient(key: string): void {
    const rec = this.clientsByKey.get(key);
    if (rec && rec.runID !== '' && this.runIndex.get(rec.runID) === key) this.runIndex.delete(rec.runID);
    this.clientsByKey.delete(key);
    this.offlineClients.delete(key);
  }

  private proxyStarted(control: ControlSession, proxy: ServerProxy, msg: NewProxy | undefined): void {
    const now = this.now();
    let rec = this.proxies.get(proxy.name);
    if (rec?.live) {
      // The server keeps names unique; should one still come twice, the older instance is booked closed first.
      this.closeRecord(rec, now);
      rec = this.proxies.get(proxy.name);
    }
    // As frp: a name that comes back with the same type keeps its traffic history.
    if (!rec || rec.type !== proxy.type) {
      const today = localDay(now);
      rec = {
        name: proxy.name,
        type: proxy.type,
        user: '',
        clientID: '',
        msg: undefined,
        live: undefined,
        foldedIn: 0,
        foldedOut: 0,
        trafficIn: new DailyCounter(today),
        trafficOut: new DailyCounter(today),
        totalIn: 0,
        totalOut: 0,
        lastStart: 0,
        lastClose: 0,
      };
      this.proxies.set(proxy.name, rec);
    }
    rec.user = control.login.user ?? '';
    // As in the client list, a run id standing in for a client id is shown cut short.
    rec.clientID = control.login.client_id || shortRunId(control.runId);
    rec.msg = msg;
    rec.live = proxy;
    // The proxy's counters start at 0 with it: everything they hold belongs to this record.
    rec.foldedIn = 0;
    rec.foldedOut = 0;
    rec.lastStart = now;
    this.offlineProxies.delete(proxy.name);
    this.typeCounts.set(proxy.type, (this.typeCounts.get(proxy.type) ?? 0) + 1);
  }

  private proxyClosed(proxy: ServerProxy): void {
    const rec = this.proxies.get(proxy.name);
    // Closed without having started (refused while the client left), or an older instance: nothing to book.
    if (!rec || rec.live !== proxy) return;
    this.closeRecord(rec, this.now());
  }

  private closeRecord(rec: ProxyRecord, now: number): void {
    this.fold(rec, now);
    rec.live = undefined;
    rec.msg = undefined;
    rec.lastClose = now;
    this.typeCounts.set(rec.type, Math.max(0, (this.typeCounts.get(rec.type) ?? 0) - 1));
    this.offlineProxies.add(rec.name);
    while (this.offlineProxies.size > this.maxOfflineProxies) {
      const oldest = this.offlineProxies.values().next().value as string;
      this.offlineProxies.delete(oldest);
      this.proxies.delete(oldest);
    }
  }

  // Traffic folding

  private fold(rec: ProxyRecord, now: number): void {
    const live = rec.live;
    if (!live) return;
    const day = localDay(now);
    const dIn = live.traffic.bytesIn - rec.foldedIn;
    const dOut = live.traffic.bytesOut - rec.foldedOut;
    if (dIn > 0) {
      rec.trafficIn.add(dIn, day);
      this.serverIn.add(dIn, day);
      rec.totalIn += dIn;
      rec.foldedIn = live.traffic.bytesIn;
    }
    if (dOut > 0) {
      rec.trafficOut.add(dOut, day);
      this.serverOut.add(dOut, day);
      rec.totalOut += dOut;
      rec.foldedOut = live.traffic.bytesOut;
    }
  }

  private foldAll(): void {
    const now = this.now();
    for (const rec of this.proxies.values()) this.fold(rec, now);
  }

  /** Forgets proxies offline for longer than frp keeps them; the set is oldest-first, so this stops early. */
  private expire(now: number): void {
    for (const name of this.offlineProxies) {
      const rec = this.proxies.get(name);
      if (rec && now - rec.lastClose <= OFFLINE_PROXY_RETENTION_MS) return;
      this.offlineProxies.delete(name);
      this.proxies.delete(name);
    }
  }

  /** Drops expired records and answers today's day number; `all` folds every live proxy (server totals need it). */
  private refresh(all: boolean): number {
    const now = this.now();
    this.expire(now);
    if (all) this.foldAll();
    return localDay(now);
  }

  private view(rec: ProxyRecord, day: number): ProxySnapshot {
    this.fold(rec, this.now());
    return {
      name: rec.name,
      type: rec.type,
      user: rec.user,
      clientID: rec.clientID,
      ...(rec.live ? { live: { proxy: rec.live, msg: rec.msg } } : {}),
      todayTrafficIn: rec.trafficIn.today(day),
      todayTrafficOut: rec.trafficOut.today(day),
      curConns: rec.live?.activeConnections ?? 0,
      lastStart: rec.lastStart,
      lastClose: rec.lastClose,
    };
  }

  // Reads

  /** Logged-in clients right now (two sessions sharing a client id count twice, as frp). */
  get clientCount(): number {
    return this.source.clients.length;
  }

  summary(): ServerSummary {
    const day = this.refresh(true);
    let curConns = 0;
    for (const rec of this.proxies.values()) curConns += rec.live?.activeConnections ?? 0;
    return {
      todayTrafficIn: this.serverIn.today(day),
      todayTrafficOut: this.serverOut.today(day),
      curConns,
      clientCounts: this.clientCount,
      proxyTypeCounts: Object.fromEntries(this.typeCounts),
    };
  }

  /** Records of one type (online and offline), sorted by name. */
  proxiesByType(type: string): ProxySnapshot[] {
    const day = this.refresh(false);
    const out: ProxySnapshot[] = [];
    for (const rec of this.proxies.values()) if (rec.type === type) out.push(this.view(rec, day));
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  proxy(name: string, type?: string): ProxySnapshot | undefined {
    const day = this.refresh(false);
    const rec = this.proxies.get(name);
    if (!rec || (type !== undefined && rec.type !== type)) return undefined;
    return this.view(rec, day);
  }

  traffic(name: string): ProxyTraffic | undefined {
    const day = this.refresh(false);
    const rec = this.proxies.get(name);
    if (!rec) return undefined;
    this.fold(rec, this.now());
    return { name, trafficIn: rec.trafficIn.lastDays(day), trafficOut: rec.trafficOut.lastDays(day) };
  }

  /** Forgets every offline proxy; answers how many went and how many there were. */
  clearOfflineProxies(): { cleared: number; total: number } {
    const total = this.proxies.size;
    const cleared = this.offlineProxies.size;
    for (const name of this.offlineProxies) this.proxies.delete(name);
    this.offlineProxies.clear();
    return { cleared, total };
  }

  /** For the Prometheus collectors: every record with its cumulative totals. */
  proxyCounters(): ProxyCounters[] {
    this.refresh(true);
    const out: ProxyCounters[] = [];
    for (const rec of this.proxies.values()) {
      out.push({ name: rec.name, type: rec.type, online: rec.live !== undefined, curConns: rec.live?.activeConnections ?? 0, totalIn: rec.totalIn, totalOut: rec.totalOut });
    }
    return out;
  }

  proxyTypeCounts(): Record<string, number> {
    return Object.fromEntries(this.typeCounts);
  }

  /** Clients sorted by user, clientID, key, as frp. */
  clients(filter: ClientFilter = {}): ClientSnapshot[] {
    const status = (filter.status ?? '').toLowerCase();
    const out: ClientSnapshot[] = [];
    for (const rec of this.clientsByKey.values()) {
      if (filter.user && rec.user !== filter.user) continue;
      if (filter.clientId && rec.clientID !== filter.clientId) continue;
      if (filter.runId && rec.runID !== filter.runId) continue;
      if (status === 'online' && !rec.online) continue;
      if (status === 'offline' && rec.online) continue;
      out.push(clientView(rec));
    }
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return out.sort((a, b) => cmp(a.user, b.user) || cmp(a.clientID, b.clientID) || cmp(a.key, b.key));
  }

  client(key: string): ClientSnapshot | undefined {
    const rec = this.clientsByKey.get(key);
    return rec ? clientView(rec) : undefined;
  }
}

function clientView(rec: ClientRecord): ClientSnapshot {
  const { key, user, clientID, runID, version, hostname, ip, firstConnectedAt, lastConnectedAt, disconnectedAt, online } = rec;
  return { key, user, clientID, runID, version, hostname, ip, firstConnectedAt, lastConnectedAt, disconnectedAt, online };
}
