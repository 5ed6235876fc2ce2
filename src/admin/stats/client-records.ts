import type { ControlSession } from '../../server/control-session.js';

/** One client record. Times in ms since the epoch, 0 = never. */
export interface ClientSnapshot {
  key: string;
  user: string;
  /** the client id it logged in with, or its run id when it has none */
  clientID: string;
  /** empty once offline, as frp */
  runID: string;
  version: string;
  /** 'v1' or 'v2', the framing of its last login */
  wireProtocol: string;
  hostname: string;
  ip: string;
  firstConnectedAt: number;
  lastConnectedAt: number;
  disconnectedAt: number;
  online: boolean;
}

export interface ClientFilter {
  user?: string;
  clientId?: string;
  runId?: string;
  /** 'online' | 'offline' | 'all' (anything else = all, as frp) */
  status?: string;
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
 * The dashboard's client list: one record per client key (user and client
 * id, or run id when there is no client id), online or not. Two sessions
 * may share a key (a client that logged in again before its old session
 * closed): the record follows the newest one.
 *
 * What the methods below keep true:
 * - a record is online exactly when it has a `control` and a non-empty
 *   `runID`; an offline one has neither (as frp, it loses its run id);
 * - `runIndex` holds exactly one entry per online record, its run id → its
 *   key, so a session that closes finds its record, and an older session of
 *   the same key (whose run id is no longer indexed) finds nothing;
 * - `offline` holds exactly the keys of offline records, oldest first, and
 *   never more than `maxOffline` of them.
 */
export class ClientRecords {
  private readonly byKey = new Map<string, ClientRecord>();
  /** offline keys, oldest first (a Set iterates in insertion order) */
  private readonly offline = new Set<string>();
  private readonly runIndex = new Map<string, string>();

  constructor(private readonly maxOffline: number) {}

  loggedIn(control: ControlSession, now: number): void {
    const login = control.login;
    const user = login.user ?? '';
    const rawClientID = login.client_id ?? '';
    const clientID = rawClientID || control.runId;
    const key = clientKey(user, clientID);
    // The same run under another key (its client id changed): the old entry is left behind, as frp.
    const previousKey = this.runIndex.get(control.runId);
    if (previousKey !== undefined && previousKey !== key) {
      const previous = this.byKey.get(previousKey);
      if (previous && previous.runID === control.runId) {
        if (previous.rawClientID === '') this.forget(previousKey);
        else this.markOffline(previous, now);
      }
      this.runIndex.delete(control.runId);
    }
    let rec = this.byKey.get(key);
    if (!rec) {
      rec = {
        key,
        user,
        rawClientID,
        clientID,
        runID: '',
        version: '',
        wireProtocol: '',
        hostname: '',
        ip: '',
        firstConnectedAt: now,
        lastConnectedAt: now,
        disconnectedAt: 0,
        online: true,
        control,
      };
      this.byKey.set(key, rec);
    } else if (rec.runID !== '') {
      this.runIndex.delete(rec.runID);
    }
    Object.assign(rec, {
      rawClientID,
      clientID,
      runID: control.runId,
      version: login.version ?? '',
      wireProtocol: control.wireProtocol,
      hostname: login.hostname ?? '',
      ip: stripV4Mapped(control.remoteAddress),
      lastConnectedAt: now,
      disconnectedAt: 0,
      online: true,
      control,
    });
    this.offline.delete(key);
    this.runIndex.set(control.runId, key);
  }

  loggedOut(control: ControlSession, now: number): void {
    const key = this.runIndex.get(control.runId);
    if (key === undefined) return;
    const rec = this.byKey.get(key);
    if (rec && rec.control === control) this.markOffline(rec, now);
    if (!rec || rec.runID !== control.runId) this.runIndex.delete(control.runId);
  }

  /** Clients sorted by user, clientID, key, as frp. */
  list(filter: ClientFilter = {}): ClientSnapshot[] {
    const status = (filter.status ?? '').toLowerCase();
    const out: ClientSnapshot[] = [];
    for (const rec of this.byKey.values()) {
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

  get(key: string): ClientSnapshot | undefined {
    const rec = this.byKey.get(key);
    return rec ? clientView(rec) : undefined;
  }

  private markOffline(rec: ClientRecord, now: number): void {
    // As frp: an offline client no longer has a run id (the next login brings its own).
    if (rec.runID !== '' && this.runIndex.get(rec.runID) === rec.key) this.runIndex.delete(rec.runID);
    rec.runID = '';
    rec.online = false;
    rec.disconnectedAt = now;
    rec.control = undefined;
    this.offline.delete(rec.key);
    this.offline.add(rec.key);
    while (this.offline.size > this.maxOffline) {
      const oldest = this.offline.values().next().value as string;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    const rec = this.byKey.get(key);
    if (rec && rec.runID !== '' && this.runIndex.get(rec.runID) === key) this.runIndex.delete(rec.runID);
    this.byKey.delete(key);
    this.offline.delete(key);
  }
}

function clientView(rec: ClientRecord): ClientSnapshot {
  const { key, user, clientID, runID, version, wireProtocol, hostname, ip, firstConnectedAt, lastConnectedAt, disconnectedAt, online } = rec;
  return { key, user, clientID, runID, version, wireProtocol, hostname, ip, firstConnectedAt, lastConnectedAt, disconnectedAt, online };
}
