import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '../config/types.js';
import type { HttpInspector } from '../inspect/inspector.js';
import type { NewProxyResp, StartWorkConn } from '../protocol/messages.js';
import type { ClientProxyHandler } from '../proxy/types.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { ClientSession } from './client-session.js';
import { HealthCheck, HealthState } from './health-check.js';
import { CLIENT_PROXY_TYPES, createProxyHandler } from '../proxy/client-registry.js';
import { ProxyRetry, type ProxyPhase, type ProxyRetryTiming, type ProxyStatus } from './proxy-status.js';
import type { NatHoleLink } from '../proxy/client-context.js';
import { burrowOnlyRefusal } from './burrow-only.js';

/** The few session calls a proxy's registration makes. */
export type ProxySession = Pick<ClientSession, 'registerProxy' | 'closeProxy' | 'serverInfo'>;

/** What the proxies know of their client. */
export interface ProxyHost {
  readonly user: string;
  readonly serverAddr: string;
  readonly cipherKey: Buffer;
  /** frp's `udpPacketSize` */
  readonly udpPacketSize: number;
  readonly natHole: NatHoleLink;
  readonly inspector: HttpInspector;
  readonly retryTiming: ProxyRetryTiming;
  readonly log: Logger;
  /** the logged-in session; undefined between sessions and while logging in */
  session(): ProxySession | undefined;
  /** a proxy's status changed (the client emits it as 'proxy') */
  changed(status: ProxyStatus): void;
}

export interface ReloadDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

interface ProxyEntry {
  readonly config: ProxyConfig;
  readonly handler: ClientProxyHandler;
  readonly status: ProxyStatus;
  /** re-sends NewProxy after a refusal or a missing answer, as frpc does */
  readonly retry: ProxyRetry;
  /** present when the proxy has a health check: it registers only while healthy */
  readonly health?: HealthCheck;
}

/**
 * The client's proxies: each one's status, its registration with the
 * current session (retried as frpc does), its health check, and the diff a
 * reload applies. Sessions come and go; this set outlives them.
 */
export class ProxySet {
  private readonly proxies = new Map<string, ProxyEntry>();
  /** configured proxies of types this client cannot run yet: reported, never registered */
  private readonly unsupported: Array<{ config: ProxyConfig; status: ProxyStatus }> = [];

  constructor(
    private readonly host: ProxyHost,
    configs: readonly ProxyConfig[],
  ) {
    for (const p of configs) this.add(p);
  }

  get statuses(): ProxyStatus[] {
    return [...this.proxies.values(), ...this.unsupported].map((e) => ({ ...e.status }));
  }

  status(name: string): ProxyStatus | undefined {
    const s = this.proxies.get(name)?.status ?? this.unsupported.find((u) => u.config.name === name)?.status;
    return s ? { ...s } : undefined;
  }

  /** The running settings of a proxy (after any reload). */
  config(name: string): ProxyConfig | undefined {
    return this.proxies.get(name)?.config;
  }

  /** Logged once at start: the other proxies run. */
  warnUnsupported(): void {
    for (const u of this.unsupported) this.host.log.warn('proxy not started', { proxy: u.config.name, reason: u.status.err });
  }

  /** A new session is up: every proxy registers afresh. */
  registerAll(): void {
    for (const e of this.proxies.values()) this.register(e);
  }

  /** The session ended: nothing is registered any more, and the next session starts over. */
  sessionLost(): void {
    for (const e of this.proxies.values()) {
      e.retry.reset();
      this.setPhase(e, 'new', '');
    }
  }

  /** The client stops: timers, health checks and handlers end. */
  closeAll(): void {
    for (const e of this.proxies.values()) {
      e.retry.cancel();
      e.health?.stop();
      e.handler.close?.();
      this.setPhase(e, 'closed', '');
    }
  }

  /** Hands a work connection to its proxy's handler. */
  workConn(name: string, work: Duplex, start: StartWorkConn): void {
    const entry = this.proxies.get(name);
    if (!entry) {
      this.host.log.warn('work connection for an unknown proxy', { proxy: name });
      work.destroy();
      return;
    }
    entry.handler.handleWorkConn(work, start);
  }

  /** The server's answer to a NewProxy. */
  answered(name: string, resp: NewProxyResp): void {
    const e = this.proxies.get(name);
    if (!e) return;
    const log = this.host.log;
    if (resp.error) {
      // The answer to a re-sent registration whose first one went through late: the proxy runs.
      if (e.status.phase === 'running') return void log.debug('duplicate registration refused', { proxy: name, reason: resp.error });
      e.status.nextRetryAt = e.retry.refused();
      log.warn('proxy failed to start', { proxy: name, reason: resp.error, retryInMs: e.status.nextRetryAt - Date.now() });
      this.setPhase(e, 'start error', resp.error);
      return;
    }
    e.retry.reset();
    e.status.remoteAddr = resp.remote_addr ?? '';
    // tcp/udp answer ":port" on the server's address; vhost types answer their domains.
    const publicAddr = e.status.remoteAddr.startsWith(':') ? `${this.host.serverAddr}${e.status.remoteAddr}` : e.status.remoteAddr;
    log.info(`[${name}] start proxy success`, { type: e.config.type, remote: publicAddr, local: e.status.localAddr });
    this.setPhase(e, 'running', '');
  }

  /**
   * Applies a re-read proxy list: removed proxies are closed, new ones
   * registered, changed ones re-registered; unchanged proxies and their open
   * connections are not touched.
   */
  reload(next: readonly ProxyConfig[]): ReloadDiff {
    const wanted = new Map(next.map((p) => [p.name, p]));
    const diff: ReloadDiff = { added: [], removed: [], changed: [] };
    const before = new Map([...this.proxies].map(([name, e]) => [name, e.config] as const));
    for (const u of this.unsupported.splice(0)) before.set(u.config.name, u.config);
    for (const [name, old] of before) {
      const p = wanted.get(name);
      if (p && JSON.stringify(p) === JSON.stringify(old)) continue;
      this.remove(name);
      (p ? diff.changed : diff.removed).push(name);
    }
    for (const [name, p] of wanted) {
      if (before.has(name) && !diff.changed.includes(name)) {
        // Unchanged: a running proxy stays as it is; an unsupported one goes back on the list.
        if (!this.proxies.has(name)) this.add(p);
        continue;
      }
      if (!before.has(name)) diff.added.push(name);
      const entry = this.add(p);
      if (!entry) this.host.log.warn('proxy not started', { proxy: name, reason: this.status(name)?.err });
      else this.register(entry);
    }
    return diff;
  }

  private add(p: ProxyConfig): ProxyEntry | undefined {
    // As frpc's status: the local address only with a localPort, and the plugin's type.
    const localAddr = p.localPort > 0 ? `${p.localIP.includes(':') ? `[${p.localIP}]` : p.localIP}:${p.localPort}` : '';
    const plugin = p.plugin?.type ?? '';
    const refuse = (err: string): undefined => {
      // Shown in the status and logged; the other proxies run.
      this.unsupported.push({
        config: p,
        status: { name: p.name, type: p.type, phase: 'start error', err, remoteAddr: '', localAddr, plugin, nextRetryAt: 0 },
      });
      return undefined;
    };
    if (!CLIENT_PROXY_TYPES.has(p.type)) return refuse(`proxy type "${p.type}" is not supported by burrow yet`);
    const { host } = this;
    const inspect = p.type === 'http' && p.inspect === true;
    let handler: ClientProxyHandler;
    try {
      // Makes the proxy's plugin, which fails for settings it cannot serve (frp fails the proxy's start).
      handler = createProxyHandler(p, {
        cipherKey: host.cipherKey,
        logger: host.log.child({ proxy: p.name }),
        wireName: host.user ? `${host.user}.${p.name}` : p.name,
        udpPacketSize: host.udpPacketSize,
        natHole: host.natHole,
        ...(inspect
          ? { observe: (toLocal, local, start) => host.inspector.observe(p.name, `${start.src_addr ?? ''}:${start.src_port ?? 0}`, toLocal, local) }
          : {}),
      });
    } catch (err) {
      return refuse(describeError(err));
    }
    const status: ProxyStatus = { name: p.name, type: p.type, phase: 'new', err: '', remoteAddr: '', localAddr, plugin, nextRetryAt: 0 };
    const retry = new ProxyRetry(host.retryTiming, () => this.retryRegistration(p.name));
    // As frp: a health check needs a localPort to check (a plugin proxy may have none).
    const hc = p.healthCheck && p.healthCheck.type !== '' && p.localPort > 0 ? p.healthCheck : undefined;
    const health = hc ? new HealthCheck(hc, p.localIP, p.localPort, (healthy, reason) => this.onHealth(p.name, healthy, reason)) : undefined;
    const entry: ProxyEntry = { config: p, handler, status, retry, ...(health ? { health } : {}) };
    this.proxies.set(p.name, entry);
    health?.start();
    return entry;
  }

  private remove(name: string): void {
    const e = this.proxies.get(name);
    if (!e) return;
    e.retry.cancel();
    e.health?.stop();
    e.handler.close?.();
    this.proxies.delete(name);
    this.host.session()?.closeProxy(name);
  }

  /** Sends NewProxy unless a health check says the local service is not (yet) healthy. */
  private register(e: ProxyEntry): void {
    const session = this.host.session();
    if (!session) return;
    if (e.health && e.health.state !== HealthState.Healthy) {
      if (e.status.phase !== 'check failed') this.setPhase(e, 'check failed', e.status.err || 'waiting for the first successful health check');
      return;
    }
    const refusal = burrowOnlyRefusal(e.config, session.serverInfo);
    if (refusal) {
      // Not retried in this session: the server will not become burrow; the next session checks again.
      this.host.log.error('proxy not started', { proxy: e.config.name, reason: refusal });
      this.setPhase(e, 'start error', refusal);
      return;
    }
    this.setPhase(e, 'wait start', '');
    session.registerProxy(e.config);
    e.retry.sent();
  }

  /** A refused or unanswered registration is due again (frpc's status check does the same). */
  private retryRegistration(name: string): void {
    const e = this.proxies.get(name);
    if (!e || (e.status.phase !== 'start error' && e.status.phase !== 'wait start')) return;
    this.host.log.info('registering the proxy again', { proxy: name, lastError: e.status.err || 'no answer from the server' });
    this.register(e);
  }

  /** A health check changed: leave the server's rotation (CloseProxy) or join it again (NewProxy). */
  private onHealth(name: string, healthy: boolean, reason: string): void {
    const e = this.proxies.get(name);
    if (!e) return;
    if (healthy) {
      this.host.log.info(`[${name}] health check success`);
      this.register(e);
      return;
    }
    this.host.log.warn(`[${name}] health check failed`, { reason });
    e.retry.cancel();
    if (e.status.phase === 'running' || e.status.phase === 'wait start') this.host.session()?.closeProxy(name);
    this.setPhase(e, 'check failed', reason);
  }

  private setPhase(e: ProxyEntry, phase: ProxyPhase, err: string): void {
    if (phase !== 'start error') e.status.nextRetryAt = 0;
    e.status.phase = phase;
    e.status.err = err;
    this.host.changed({ ...e.status });
  }
}
