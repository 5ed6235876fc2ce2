import type { NewProxy } from '../../protocol/messages.js';
import type { ServerProxy } from '../../proxy/types.js';
import type { ControlSession } from '../../server/control-session.js';
import { shortRunId } from '../../util/peer-string.js';
import { DailyCounter, localDay, TRAFFIC_DAYS } from './daily-traffic.js';

/** As frp: a proxy offline for longer than this is forgotten. */
const OFFLINE_PROXY_RETENTION_MS = TRAFFIC_DAYS * 24 * 3600_000;

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

export interface ProxyTraffic {
  name: string;
  trafficIn: number[];
  trafficOut: number[];
}

/** Per-proxy figures for the Prometheus collectors; totals are cumulative since the record was created. */
export interface ProxyCounters {
  name: string;
  type: string;
  /** the Login user of the client that registered it ('' without one) */
  user: string;
  online: boolean;
  curConns: number;
  totalIn: number;
  totalOut: number;
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

/**
 * The dashboard's proxy list: one record per proxy name, online or not,
 * with its traffic by day. Traffic is read from each live proxy's
 * cumulative counters when someone asks (and when the proxy closes), so the
 * relay path never touches this object.
 *
 * What the methods below keep true:
 * - a record is online exactly when `live` is set; `msg` is set only then;
 * - `offline` holds exactly the names of offline records, in the order they
 *   closed (expiry stops at the first one young enough), and never more
 *   than `maxOffline` of them;
 * - `typeCounts` counts the online records of each type;
 * - `foldedIn`/`foldedOut` are the part of the live proxy's counters already
 *   added to the record's days and totals and to the server's days; they
 *   start at 0 with each new instance, as its counters do.
 */
export class ProxyRecords {
  private readonly byName = new Map<string, ProxyRecord>();
  /** offline proxy names, oldest first (a Set iterates in insertion order) */
  private readonly offline = new Set<string>();
  private readonly typeCounts = new Map<string, number>();
  /** every proxy's traffic together, kept after its record goes */
  private readonly serverIn: DailyCounter;
  private readonly serverOut: DailyCounter;

  constructor(
    private readonly now: () => number,
    private readonly maxOffline: number,
  ) {
    const today = localDay(now());
    this.serverIn = new DailyCounter(today);
    this.serverOut = new DailyCounter(today);
  }

  started(control: ControlSession, proxy: ServerProxy, msg: NewProxy | undefined): void {
    const now = this.now();
    let rec = this.byName.get(proxy.name);
    if (rec?.live) {
      // The server keeps names unique; should one still come twice, the older instance is booked closed first.
      this.closeRecord(rec, now);
      rec = this.byName.get(proxy.name);
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
      this.byName.set(proxy.name, rec);
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
    this.offline.delete(proxy.name);
    this.typeCounts.set(proxy.type, (this.typeCounts.get(proxy.type) ?? 0) + 1);
  }

  closed(proxy: ServerProxy): void {
    const rec = this.byName.get(proxy.name);
    // Closed without having started (refused while the client left), or an older instance: nothing to book.
    if (!rec || rec.live !== proxy) return;
    this.closeRecord(rec, this.now());
  }

  /** Books what every live proxy moved so far. */
  foldAll(): void {
    const now = this.now();
    for (const rec of this.byName.values()) this.fold(rec, now);
  }

  // Reads

  /** The server's traffic today and its open visitor connections. */
  totals(): { todayTrafficIn: number; todayTrafficOut: number; curConns: number } {
    const day = this.refresh(true);
    let curConns = 0;
    for (const rec of this.byName.values()) curConns += rec.live?.activeConnections ?? 0;
    return { todayTrafficIn: this.serverIn.today(day), todayTrafficOut: this.serverOut.today(day), curConns };
  }

  /** Records of one type (online and offline), sorted by name. */
  byType(type: string): ProxySnapshot[] {
    const day = this.refresh(false);
    const out: ProxySnapshot[] = [];
    for (const rec of this.byName.values()) if (rec.type === type) out.push(this.view(rec, day));
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string, type?: string): ProxySnapshot | undefined {
    const day = this.refresh(false);
    const rec = this.byName.get(name);
    if (!rec || (type !== undefined && rec.type !== type)) return undefined;
    return this.view(rec, day);
  }

  traffic(name: string): ProxyTraffic | undefined {
    const day = this.refresh(false);
    const rec = this.byName.get(name);
    if (!rec) return undefined;
    this.fold(rec, this.now());
    return { name, trafficIn: rec.trafficIn.lastDays(day), trafficOut: rec.trafficOut.lastDays(day) };
  }

  /** Forgets every offline proxy; answers how many went and how many there were. */
  clearOffline(): { cleared: number; total: number } {
    const total = this.byName.size;
    const cleared = this.offline.size;
    for (const name of this.offline) this.byName.delete(name);
    this.offline.clear();
    return { cleared, total };
  }

  /** For the Prometheus collectors: every record with its cumulative totals. */
  counters(): ProxyCounters[] {
    this.refresh(true);
    const out: ProxyCounters[] = [];
    for (const rec of this.byName.values()) {
      out.push({
        name: rec.name,
        type: rec.type,
        user: rec.user,
        online: rec.live !== undefined,
        curConns: rec.live?.activeConnections ?? 0,
        totalIn: rec.totalIn,
        totalOut: rec.totalOut,
      });
    }
    return out;
  }

  onlineByType(): Record<string, number> {
    return Object.fromEntries(this.typeCounts);
  }

  private closeRecord(rec: ProxyRecord, now: number): void {
    this.fold(rec, now);
    rec.live = undefined;
    rec.msg = undefined;
    rec.lastClose = now;
    this.typeCounts.set(rec.type, Math.max(0, (this.typeCounts.get(rec.type) ?? 0) - 1));
    this.offline.add(rec.name);
    while (this.offline.size > this.maxOffline) {
      const oldest = this.offline.values().next().value as string;
      this.offline.delete(oldest);
      this.byName.delete(oldest);
    }
  }

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

  /** Forgets proxies offline for longer than frp keeps them; the set is oldest-first, so this stops early. */
  private expire(now: number): void {
    for (const name of this.offline) {
      const rec = this.byName.get(name);
      if (rec && now - rec.lastClose <= OFFLINE_PROXY_RETENTION_MS) return;
      this.offline.delete(name);
      this.byName.delete(name);
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
}
