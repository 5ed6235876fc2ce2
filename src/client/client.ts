import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ClientConfig, ProxyConfig } from '../config/types.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import type { NatHoleResp, NewProxyResp, StartWorkConn } from '../protocol/messages.js';
import { HttpInspector } from '../inspect/inspector.js';
import type { ClientProxyHandler } from '../proxy/types.js';
import { Backoff } from '../util/backoff.js';
import { BurrowError, describeError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { ClientSession } from './client-session.js';
import { HealthCheck, HealthState } from './health-check.js';
import { CLIENT_PROXY_TYPES, createProxyHandler } from './proxy-handlers.js';
import type { VisitorLink } from './visitor-conn.js';
import { NatHoleExchange } from './nat-hole-exchange.js';
import type { NatHoleLink } from './xtcp-owner.js';
import { VisitorSet, type VisitorStatus } from './visitors.js';
import { ServerConnection, serverTrustWarnings } from './server-connection.js';
import { getTransport } from '../transport/index.js';
import { shortRunId } from '../util/peer-string.js';
import { DEFAULT_PROXY_RETRY, ProxyRetry, waitForRunning, type ProxyPhase, type ProxyRetryTiming, type ProxyStatus } from './proxy-status.js';

export enum ClientState {
  Idle = 'idle',
  Connecting = 'connecting',
  Online = 'online',
  Reconnecting = 'reconnecting',
  Stopped = 'stopped',
}

export type { ProxyPhase, ProxyStatus } from './proxy-status.js';

/** Settings that are not part of frp's config. */
export interface BurrowClientOptions {
  /** when a refused or unanswered proxy registration goes again (tests shorten it) */
  proxyRetry?: Partial<ProxyRetryTiming>;
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
 * The private side: keeps one session with the server alive, registers every
 * proxy on each (re)login, and reconnects with backoff (1 s doubling to 20 s,
 * with jitter) when the server is lost. Emits 'proxy' (status) on each change,
 * 'online' after each login, 'offline' (reason) when a session ends and
 * 'retry' (attempt, delayMs, reason) after each failed attempt.
 */
export class BurrowClient extends EventEmitter {
  state = ClientState.Idle;
  reconnectAttempts = 0;
  /** records the exchanges of `inspect` http proxies; the admin page reads and replays them */
  readonly inspector: HttpInspector;
  lastError = '';
  private session: ClientSession | undefined;
  private runId = '';
  private readonly proxies = new Map<string, ProxyEntry>();
  /** configured proxies of types this client cannot run yet: reported, never registered */
  private readonly unsupported: Array<{ config: ProxyConfig; status: ProxyStatus }> = [];
  private readonly backoff = new Backoff(1000, 20_000, 0.2);
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly cipherKey: Buffer;
  /** ends the wait between first-login attempts early when the client stops */
  private wakeRetry: (() => void) | undefined;
  private readonly visitorSet: VisitorSet;
  private readonly natHoleExchange = new NatHoleExchange();
  /** xtcp's NatHole* requests, over whichever session is current */
  private readonly natHoleLink: NatHoleLink = this.createNatHoleLink();

  private readonly retryTiming: ProxyRetryTiming;

  constructor(
    readonly config: ClientConfig,
    private readonly log: Logger = silentLogger,
    options: BurrowClientOptions = {},
  ) {
    super();
    this.retryTiming = { ...DEFAULT_PROXY_RETRY, ...options.proxyRetry };
    this.cipherKey = deriveCipherKey(config.auth.token);
    this.inspector = new HttpInspector({ ...config.inspect, storeFile: config.inspect.store, logger: log.child({ part: 'inspector' }) });
    for (const p of this.selectProxies(config)) this.addProxy(p);
    this.visitorSet = new VisitorSet(this.visitorLink(), this.log);
  }

  private createNatHoleLink(): NatHoleLink {
    const client = this;
    return {
      // read when used: field initializers run before the constructor's parameter properties are set
      get stunServer(): string {
        return client.config.natHoleStunServer;
      },
      exchange: (msg, timeoutMs) => client.natHoleExchange.request((m) => client.session?.send(m) ?? false, msg, timeoutMs),
      report: (body) => void client.session?.send({ type: 'NatHoleReport', body }),
    };
  }

  /** Visitors reach the server through whichever session is current. */
  private visitorLink(): VisitorLink {
    const client = this;
    return {
      get runId() {
        return client.session?.runId ?? '';
      },
      get user() {
        return client.config.user;
      },
      natHole: client.natHoleLink,
      openStream() {
        const session = client.session;
        if (!session || client.state !== ClientState.Online) return Promise.reject(new BurrowError('BURROW_CLOSED', 'not connected to the server'));
        return session.openStream();
      },
    };
  }

  private selectVisitors(config: ClientConfig): ClientConfig['visitors'] {
    const selected = config.start.length > 0 ? new Set(config.start) : undefined;
    return config.visitors.filter((v) => v.enabled && (!selected || selected.has(v.name)));
  }

  get visitors(): VisitorStatus[] {
    return this.visitorSet.statuses;
  }

  /** The proxies of `config` this client should run: enabled and, if `start` is set, named there. */
  private selectProxies(config: ClientConfig): ProxyConfig[] {
    const selected = config.start.length > 0 ? new Set(config.start) : undefined;
    return config.proxies.filter((p) => p.enabled && (!selected || selected.has(p.name)));
  }

  private addProxy(p: ProxyConfig): ProxyEntry | undefined {
    if (!CLIENT_PROXY_TYPES.has(p.type)) {
      // Shown in the status and logged at start; the other proxies run.
      const err = `proxy type "${p.type}" is not supported by burrow yet`;
      this.unsupported.push({ config: p, status: { name: p.name, type: p.type, phase: 'start error', err, remoteAddr: '', localAddr: `${p.localIP}:${p.localPort}`, nextRetryAt: 0 } });
      return undefined;
    }
    const inspect = p.type === 'http' && p.inspect === true;
    const handler = createProxyHandler(p, {
      cipherKey: this.cipherKey,
      logger: this.log.child({ proxy: p.name }),
      wireName: this.config.user ? `${this.config.user}.${p.name}` : p.name,
      natHole: this.natHoleLink,
      ...(inspect ? { observe: (toLocal, local, start) => this.inspector.observe(p.name, `${start.src_addr ?? ''}:${start.src_port ?? 0}`, toLocal, local) } : {}),
    });
    const status: ProxyStatus = { name: p.name, type: p.type, phase: 'new', err: '', remoteAddr: '', localAddr: `${p.localIP}:${p.localPort}`, nextRetryAt: 0 };
    const retry = new ProxyRetry(this.retryTiming, () => this.retryRegistration(p.name));
    const hc = p.healthCheck && p.healthCheck.type !== '' ? p.healthCheck : undefined;
    const health = hc ? new HealthCheck(hc, p.localIP, p.localPort, (healthy, reason) => this.onHealth(p.name, healthy, reason)) : undefined;
    const entry: ProxyEntry = { config: p, handler, status, retry, ...(health ? { health } : {}) };
    this.proxies.set(p.name, entry);
    health?.start();
    return entry;
  }

  private removeProxy(name: string): void {
    const e = this.proxies.get(name);
    if (!e) return;
    e.retry.cancel();
    e.health?.stop();
    e.handler.close?.();
    this.proxies.delete(name);
    this.session?.closeProxy(name);
  }

  /** Sends NewProxy unless a health check says the local service is not (yet) healthy. */
  private register(e: ProxyEntry): void {
    if (!this.session || this.state !== ClientState.Online) return;
    if (e.health && e.health.state !== HealthState.Healthy) {
      if (e.status.phase !== 'check failed') this.setPhase(e, 'check failed', e.status.err || 'waiting for the first successful health check');
      return;
    }
    this.setPhase(e, 'wait start', '');
    this.session.registerProxy(e.config);
    e.retry.sent();
  }

  /** A refused or unanswered registration is due again (frpc's status check does the same). */
  private retryRegistration(name: string): void {
    const e = this.proxies.get(name);
    if (!e || (e.status.phase !== 'start error' && e.status.phase !== 'wait start')) return;
    this.log.info('registering the proxy again', { proxy: name, lastError: e.status.err || 'no answer from the server' });
    this.register(e);
  }

  /** A health check changed: leave the server's rotation (CloseProxy) or join it again (NewProxy). */
  private onHealth(name: string, healthy: boolean, reason: string): void {
    const e = this.proxies.get(name);
    if (!e) return;
    if (healthy) {
      this.log.info(`[${name}] health check success`);
      this.register(e);
      return;
    }
    this.log.warn(`[${name}] health check failed`, { reason });
    e.retry.cancel();
    if (e.status.phase === 'running' || e.status.phase === 'wait start') this.session?.closeProxy(name);
    this.setPhase(e, 'check failed', reason);
  }

  /**
   * Applies the proxy list of a re-read config: removed proxies are closed,
   * new ones registered, changed ones re-registered; unchanged proxies and
   * their open connections are not touched. The common section (server
   * address, token, transport) is not applied live, as in frp.
   */
  reload(next: ClientConfig): { added: string[]; removed: string[]; changed: string[] } {
    const wanted = new Map(this.selectProxies(next).map((p) => [p.name, p]));
    const diff = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    const before = new Map([...this.proxies].map(([name, e]) => [name, e.config] as const));
    for (const u of this.unsupported.splice(0)) before.set(u.config.name, u.config);
    for (const [name, old] of before) {
      const p = wanted.get(name);
      if (p && JSON.stringify(p) === JSON.stringify(old)) continue;
      this.removeProxy(name);
      (p ? diff.changed : diff.removed).push(name);
    }
    for (const [name, p] of wanted) {
      if (before.has(name) && !diff.changed.includes(name)) {
        // Unchanged: a running proxy stays as it is; an unsupported one goes back on the list.
        if (!this.proxies.has(name)) this.addProxy(p);
        continue;
      }
      if (!before.has(name)) diff.added.push(name);
      const entry = this.addProxy(p);
      if (!entry) this.log.warn('proxy not started', { proxy: name, reason: this.status(name)?.err });
      else this.register(entry);
    }
    const v = this.visitorSet.reload(this.selectVisitors(next));
    diff.added.push(...v.added);
    diff.removed.push(...v.removed);
    diff.changed.push(...v.changed);
    this.log.info('configuration reloaded', { added: diff.added.join(',') || '-', removed: diff.removed.join(',') || '-', changed: diff.changed.join(',') || '-' });
    return diff;
  }

  /** read through a getter: stop() may run while start() awaits */
  private get stopped(): boolean {
    return this.state === ClientState.Stopped;
  }

  get statuses(): ProxyStatus[] {
    return [...this.proxies.values(), ...this.unsupported].map((e) => ({ ...e.status }));
  }

  /** The running settings of a proxy (after any reload). */
  proxyConfig(name: string): ProxyConfig | undefined {
    return this.proxies.get(name)?.config;
  }

  status(name: string): ProxyStatus | undefined {
    const s = this.proxies.get(name)?.status ?? this.unsupported.find((u) => u.config.name === name)?.status;
    return s ? { ...s } : undefined;
  }

  /**
   * Resolves after the first successful login. A failed first login rejects
   * when loginFailExit is on (frp's default); otherwise it keeps retrying.
   */
  async start(): Promise<void> {
    if (this.state !== ClientState.Idle) throw new BurrowError('BURROW_CLOSED', `client is ${this.state}`);
    if (this.config.transport.wireProtocol !== 'v1') {
      throw new BurrowError('BURROW_CONFIG_INVALID', `transport.wireProtocol "${this.config.transport.wireProtocol}" is not supported by burrow yet; use "v1" (frp's default)`);
    }
    // A protocol burrow cannot speak is a configuration error, not something to retry.
    getTransport(this.config.transport.protocol);
    for (const u of this.unsupported) this.log.warn('proxy not started', { proxy: u.config.name, reason: u.status.err });
    for (const w of serverTrustWarnings(this.config)) this.log.warn(w, { server: `${this.config.serverAddr}:${this.config.serverPort}` });
    await this.inspector.open();
    this.state = ClientState.Connecting;
    for (;;) {
      try {
        await this.connectOnce();
        // As frp, visitors start once logged in; they then follow the session across reconnects.
        await this.visitorSet.start(this.selectVisitors(this.config));
        if (this.stopped) this.visitorSet.stop();
        return;
      } catch (err) {
        if (this.stopped) throw err;
        if (this.config.loginFailExit) {
          this.state = ClientState.Stopped;
          throw err;
        }
        const delay = this.backoff.next();
        this.reconnectAttempts += 1;
        this.lastError = describeError(err);
        this.log.warn('login failed, retrying', { attempt: this.reconnectAttempts, delayMs: delay, reason: this.lastError });
        this.emit('retry', this.reconnectAttempts, delay, this.lastError);
        await new Promise<void>((resolve) => {
          this.retryTimer = setTimeout(resolve, delay);
          this.wakeRetry = resolve;
        });
        if (this.stopped) throw new BurrowError('BURROW_CLOSED', 'client stopped');
      }
    }
  }

  /** Resolves when the proxy is running; rejects with the server's reason when it is refused. */
  waitForProxy(name: string): Promise<ProxyStatus> {
    return waitForRunning(this, (n) => this.status(n), name);
  }

  stop(): void {
    if (this.state === ClientState.Stopped) return;
    this.state = ClientState.Stopped;
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    this.session?.close('client stopping');
    this.visitorSet.stop();
    for (const e of this.proxies.values()) {
      e.retry.cancel();
      e.health?.stop();
      e.handler.close?.();
      this.setPhase(e, 'closed', '');
    }
    void this.inspector.close();
    this.log.info('client stopped');
  }

  private async connectOnce(): Promise<void> {
    const conn = new ServerConnection(this.config);
    const session = new ClientSession(this.config, conn, this.log);
    session.on('proxyResp', (name: string, resp: NewProxyResp) => this.onProxyResp(name, resp));
    session.on('natHoleResp', (resp: NatHoleResp) => this.natHoleExchange.deliver(resp));
    session.on('workConn', (name: string, work: Duplex, msg: { body: StartWorkConn }) => {
      const entry = this.proxies.get(name);
      if (!entry) {
        this.log.warn('work connection for an unknown proxy', { proxy: name });
        work.destroy();
        return;
      }
      entry.handler.handleWorkConn(work, msg.body);
    });
    session.once('close', (reason: string) => this.onSessionClosed(session, reason));
    this.session = session;
    await session.start(this.runId);
    this.runId = session.runId;
    this.state = ClientState.Online;
    this.backoff.reset();
    this.lastError = '';
    this.log.info(`login to server success, get run id [${shortRunId(this.runId)}]`, { server: `${this.config.serverAddr}:${this.config.serverPort}` });
    this.emit('online');
    for (const e of this.proxies.values()) this.register(e);
  }

  private onProxyResp(name: string, resp: NewProxyResp): void {
    const e = this.proxies.get(name);
    if (!e) return;
    if (resp.error) {
      // The answer to a re-sent registration whose first one went through late: the proxy runs.
      if (e.status.phase === 'running') return void this.log.debug('duplicate registration refused', { proxy: name, reason: resp.error });
      e.status.nextRetryAt = e.retry.refused();
      this.log.warn('proxy failed to start', { proxy: name, reason: resp.error, retryInMs: e.status.nextRetryAt - Date.now() });
      this.setPhase(e, 'start error', resp.error);
      return;
    }
    e.retry.reset();
    e.status.remoteAddr = resp.remote_addr ?? '';
    // tcp/udp answer ":port" on the server's address; vhost types answer their domains.
    const publicAddr = e.status.remoteAddr.startsWith(':') ? `${this.config.serverAddr}${e.status.remoteAddr}` : e.status.remoteAddr;
    this.log.info(`[${name}] start proxy success`, { type: e.config.type, remote: publicAddr, local: e.status.localAddr });
    this.setPhase(e, 'running', '');
  }

  private setPhase(e: ProxyEntry, phase: ProxyPhase, err: string): void {
    if (phase !== 'start error') e.status.nextRetryAt = 0;
    e.status.phase = phase;
    e.status.err = err;
    this.emit('proxy', { ...e.status });
  }

  private onSessionClosed(session: ClientSession, reason: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    if (this.state !== ClientState.Online) return; // a failed login: start() handles the retry
    this.lastError = reason;
    this.log.warn('lost the server', { reason });
    this.emit('offline', reason);
    for (const e of this.proxies.values()) {
      // The next session registers every proxy afresh.
      e.retry.reset();
      this.setPhase(e, 'new', '');
    }
    this.state = ClientState.Reconnecting;
    // The first re-login goes at once (the server may only have dropped this link).
    this.scheduleReconnect(0);
  }

  private scheduleReconnect(delay: number): void {
    if (this.state !== ClientState.Reconnecting) return;
    this.reconnectAttempts += 1;
    this.log.info('reconnecting', { attempt: this.reconnectAttempts, delayMs: delay });
    this.retryTimer = setTimeout(() => {
      this.connectOnce().catch((err: unknown) => {
        if (this.state !== ClientState.Reconnecting) return;
        this.lastError = describeError(err);
        const next = this.backoff.next();
        this.log.warn('reconnect failed', { attempt: this.reconnectAttempts, nextDelayMs: next, reason: this.lastError });
        this.emit('retry', this.reconnectAttempts, next, this.lastError);
        this.scheduleReconnect(next);
      });
    }, delay);
  }
}
