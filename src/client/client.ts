import { EventEmitter } from 'node:events';
import type { ClientConfig, ProxyConfig } from '../config/types.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import type { BurrowServerInfo } from '../protocol/messages.js';
import { HttpInspector } from '../inspect/inspector.js';
import { Backoff } from '../util/backoff.js';
import { BurrowError, describeError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { type ClientAuth, createClientAuth } from './auth/client-auth.js';
import { ClientSession } from './client-session.js';
import type { NatHoleLink } from '../proxy/client-context.js';
import { NatHoleExchange } from './nat-hole-exchange.js';
import { VisitorSet, type VisitorStatus } from './visitors.js';
import { ServerConnection, serverTrustWarnings } from './server-connection.js';
import { getTransport } from '../transport/index.js';
import { shortRunId } from '../util/peer-string.js';
import { DEFAULT_PROXY_RETRY, waitForRunning, type ProxyRetryTiming, type ProxyStatus } from './proxy-status.js';
import { ProxySet, type ReloadDiff } from './proxy-set.js';
import { ProxyStore, withStored, type StoreHost } from './proxy-store.js';
import { ExtraSessions, planSessions, viewOf, type SessionView } from './extra-sessions.js';
import { natHoleLinkOf, visitorLinkOf, type SessionSource } from './session-links.js';

/**
 * The client's one state field, as the admin API shows it. The wait between
 * two login attempts is part of Connecting / Reconnecting, not a state of its
 * own: the status page tells a first login from a re-login, not a dial from
 * a backoff.
 */
export enum ClientState {
  /** built; start() not called yet */
  Idle = 'idle',
  /** trying the first login (dialing, or waiting out the backoff); start() is still pending */
  Connecting = 'connecting',
  /** logged in: proxies are registered, visitors reach the server */
  Online = 'online',
  /** the server was lost after a login: trying again until it answers or stop() */
  Reconnecting = 'reconnecting',
  /** stop() was called, or the first login failed with loginFailExit; final */
  Stopped = 'stopped',
}

/** Every move the state machine makes; `enter` refuses any other. */
const TRANSITIONS: Readonly<Record<ClientState, readonly ClientState[]>> = {
  [ClientState.Idle]: [ClientState.Connecting, ClientState.Stopped],
  [ClientState.Connecting]: [ClientState.Online, ClientState.Stopped],
  [ClientState.Online]: [ClientState.Reconnecting, ClientState.Stopped],
  [ClientState.Reconnecting]: [ClientState.Online, ClientState.Stopped],
  [ClientState.Stopped]: [],
};

export type { ProxyPhase, ProxyStatus } from './proxy-status.js';

/** What a BurrowClient emits; each event's listener arguments. */
export interface ClientEvents {
  /** a proxy's status changed */
  proxy: [status: ProxyStatus];
  /** logged in (the first time and after each reconnect) */
  online: [];
  /** a logged-in session ended; a re-login follows at once */
  offline: [reason: string];
  /** a login attempt failed; the next one goes after `delayMs` */
  retry: [attempt: number, delayMs: number, reason: string];
}

/** Settings that are not part of frp's config. */
export interface BurrowClientOptions {
  /** when a refused or unanswered proxy registration goes again (tests shorten it) */
  proxyRetry?: Partial<ProxyRetryTiming>;
  /** set by the first session of a `serverAddrs` client for the others (Login's burrow_session_group) */
  sessionGroup?: string;
}

/**
 * The private side: keeps one session with the server alive, registers every
 * proxy on each (re)login, and logs in again with backoff (1 s doubling to
 * 20 s, with jitter, as frp) when the server is lost. Every login attempt,
 * the first and each re-login, goes through `logIn`.
 */
export class BurrowClient extends EventEmitter<ClientEvents> {
  /** records the exchanges of `inspect` http proxies; the admin page reads and replays them */
  readonly inspector: HttpInspector;
  private clientState = ClientState.Idle;
  /** login attempts after the first one, over the client's life */
  private retries = 0;
  /** why the last attempt failed or the last session ended; empty while online */
  private lastFailure = '';
  private session: ClientSession | undefined;
  private runId = '';
  private readonly proxies: ProxySet;
  private readonly backoff = new Backoff(1000, 20_000, 0.2);
  /** the backoff wait under way; stop() ends it early */
  private pause: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private readonly visitorSet: VisitorSet;
  /** set when start() starts the visitors; a reload before then leaves them to it */
  private visitorsStarted = false;
  /** the proxies and visitors of the config file as last (re)loaded; the store's run beside them */
  private fileConfig: ClientConfig;
  /** frpc's store (`store.path`): entries added through the admin API, kept across restarts */
  readonly store: ProxyStore | undefined;
  private readonly natHoleExchange = new NatHoleExchange();
  /** what Login, Ping and NewWorkConn carry; one per client, so an OIDC token outlives a reconnect */
  private readonly auth: ClientAuth;
  /** what xtcp and the visitors ask of whichever session is current (read when used: field initializers run before the constructor's body) */
  private readonly source: SessionSource = { config: () => this.config, current: () => this.session, loggedIn: () => this.loggedInSession() };
  /** xtcp's NatHole* requests, over whichever session is current */
  private readonly natHoleLink: NatHoleLink = natHoleLinkOf(this.source, this.natHoleExchange);
  /** `serverAddrs` beyond the first: a session each, at once; and the id all of them log in with */
  private readonly extras: ExtraSessions;
  private readonly sessionGroup: string;

  constructor(
    readonly config: ClientConfig,
    private readonly log: Logger = silentLogger,
    options: BurrowClientOptions = {},
  ) {
    super();
    const plan = planSessions(config, options.sessionGroup);
    this.config = config = plan.first;
    this.sessionGroup = plan.group;
    this.fileConfig = config;
    this.auth = createClientAuth(config);
    // Read before the proxies are built: a bad store file stops the client here, naming each problem.
    this.store = config.store.path !== '' ? new ProxyStore(config.store.path, this.storeHost(), log) : undefined;
    this.inspector = new HttpInspector({ ...config.inspect, storeFile: config.inspect.store, logger: log.child({ part: 'inspector' }) });
    this.proxies = new ProxySet(
      {
        user: config.user,
        serverAddr: config.serverAddr,
        cipherKey: deriveCipherKey(config.auth.token),
        udpPacketSize: config.udpPacketSize,
        natHole: this.natHoleLink,
        inspector: this.inspector,
        retryTiming: { ...DEFAULT_PROXY_RETRY, ...options.proxyRetry },
        log,
        session: () => this.loggedInSession(),
        changed: (status) => this.emit('proxy', status),
      },
      this.selectProxies(config),
    );
    this.visitorSet = new VisitorSet(visitorLinkOf(this.source, this.natHoleLink), this.log);
    const child = (c: ClientConfig): BurrowClient =>
      new BurrowClient(c, log.child({ server: `${c.serverAddr}:${c.serverPort}` }), { ...options, sessionGroup: plan.group });
    this.extras = new ExtraSessions(plan.more, this.selectProxies(config), child, log);
  }

  /** Each session (one per `serverAddrs` entry, else the one): server, state, run id, last error. */
  get sessions(): SessionView[] {
    return [viewOf(this), ...this.extras.views()];
  }

  /** the run id of the current session (kept across its reconnects) */
  get currentRunId(): string {
    return this.runId;
  }

  get state(): ClientState {
    return this.clientState;
  }

  /** login attempts after the first one (the admin page shows it) */
  get reconnectAttempts(): number {
    return this.retries;
  }

  /** the public side a burrow server described at the last login; undefined before it, or from frps */
  get serverInfo(): BurrowServerInfo | undefined {
    return this.session?.serverInfo;
  }

  get lastError(): string {
    return this.lastFailure;
  }

  get statuses(): ProxyStatus[] {
    return this.proxies.statuses;
  }

  status(name: string): ProxyStatus | undefined {
    return this.proxies.status(name);
  }

  /** The running settings of a proxy (after any reload). */
  proxyConfig(name: string): ProxyConfig | undefined {
    return this.proxies.config(name);
  }

  get visitors(): VisitorStatus[] {
    return this.visitorSet.statuses;
  }

  /** Resolves when the proxy is running; rejects with the server's reason when it is refused. */
  waitForProxy(name: string): Promise<ProxyStatus> {
    return waitForRunning(this, (n) => this.status(n), name);
  }

  /**
   * Resolves after the first successful login. A failed first login rejects
   * when loginFailExit is on (frp's default); otherwise it keeps retrying.
   */
  async start(): Promise<void> {
    if (this.state !== ClientState.Idle) throw new BurrowError('BURROW_CLOSED', `client is ${this.state}`);
    // A protocol burrow cannot speak (or whose native module does not load here) is a configuration error, not something to retry.
    await getTransport(this.config.transport.protocol).prepare?.();
    this.proxies.warnUnsupported();
    for (const w of serverTrustWarnings(this.config)) this.log.warn(w, { server: `${this.config.serverAddr}:${this.config.serverPort}` });
    await this.inspector.open();
    this.enter(ClientState.Connecting);
    this.extras.start();
    await this.logIn();
    // As frp, visitors start once logged in; they then follow the session across reconnects.
    this.visitorsStarted = true;
    await this.visitorSet.start(this.selectVisitors(this.fileConfig));
    if (this.stopped) this.visitorSet.stop();
  }

  /** Immediate in every state: a backoff wait or a login under way ends too. Idempotent. */
  stop(): void {
    if (this.state === ClientState.Stopped) return;
    this.enter(ClientState.Stopped);
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.wake();
    }
    this.session?.close('client stopping');
    this.extras.stop();
    this.visitorSet.stop();
    this.proxies.closeAll();
    void this.inspector.close();
    this.log.info('client stopped');
  }

  /**
   * Applies the proxy and visitor lists of a re-read config; unchanged ones
   * and their open connections are not touched. The common section (server
   * address, token, transport) is not applied live, as in frp.
   */
  reload(next: ClientConfig): ReloadDiff {
    this.fileConfig = next;
    return this.apply('configuration reloaded');
  }

  /** Runs the file's and the store's entries: the one diff behind a reload and a store change. */
  private apply(what: string): ReloadDiff {
    const diff = this.proxies.reload(this.selectProxies(this.fileConfig));
    this.extras.reload(this.selectProxies(this.fileConfig));
    if (this.visitorsStarted) {
      const v = this.visitorSet.reload(this.selectVisitors(this.fileConfig));
      diff.added.push(...v.added);
      diff.removed.push(...v.removed);
      diff.changed.push(...v.changed);
    }
    this.log.info(what, { added: diff.added.join(',') || '-', removed: diff.removed.join(',') || '-', changed: diff.changed.join(',') || '-' });
    return diff;
  }

  /** The one place the state changes. */
  private enter(next: ClientState): void {
    if (!TRANSITIONS[this.clientState].includes(next)) throw new Error(`client state ${this.clientState} cannot become ${next}`);
    this.clientState = next;
  }

  /** read through a getter: stop() may run while an attempt is awaited */
  private get stopped(): boolean {
    return this.state === ClientState.Stopped;
  }

  /**
   * The one reconnect path: attempts a login until one works, waiting out the
   * backoff between attempts. Runs in Connecting (start() awaits it; with
   * loginFailExit the first failure is final) and in Reconnecting (after a
   * lost session; its first attempt goes at once, as the server may only
   * have dropped this link). Rejects only when it stops for good.
   */
  private async logIn(): Promise<void> {
    const relogin = this.state === ClientState.Reconnecting;
    let delay = 0;
    for (;;) {
      if (relogin) {
        this.retries += 1;
        this.log.info('reconnecting', { attempt: this.retries, delayMs: delay });
      }
      if (relogin || delay > 0) await this.wait(delay);
      if (this.stopped) throw new BurrowError('BURROW_CLOSED', 'client stopped');
      let session: ClientSession;
      try {
        session = await this.dial();
      } catch (err) {
        if (this.stopped) throw err;
        if (!relogin && this.config.loginFailExit) {
          this.enter(ClientState.Stopped);
          throw err;
        }
        delay = this.backoff.next();
        this.lastFailure = describeError(err);
        if (relogin) {
          this.log.warn('reconnect failed', { attempt: this.retries, nextDelayMs: delay, reason: this.lastFailure });
        } else {
          this.retries += 1;
          this.log.warn('login failed, retrying', { attempt: this.retries, delayMs: delay, reason: this.lastFailure });
        }
        this.emit('retry', this.retries, delay, this.lastFailure);
        continue;
      }
      return this.loggedIn(session);
    }
  }

  /** The backoff wait; stop() ends it early. */
  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.pause = undefined;
        resolve();
      };
      this.pause = { timer: setTimeout(wake, ms), wake };
    });
  }

  /** One attempt: dials and logs in; throws when it fails. */
  private async dial(): Promise<ClientSession> {
    const session = new ClientSession(this.config, this.auth, new ServerConnection(this.config), this.log);
    session.on('proxyResp', (name, resp) => this.proxies.answered(name, resp));
    session.on('natHoleResp', (resp) => this.natHoleExchange.deliver(resp));
    session.on('workConn', (name, work, start) => this.proxies.workConn(name, work, start));
    session.once('close', (reason) => this.onSessionClosed(session, reason));
    this.session = session;
    await session.start(this.runId, this.sessionGroup);
    if (this.stopped) {
      // stop() closed it; a login that still got through goes no further.
      session.close('client stopping');
      throw new BurrowError('BURROW_CLOSED', 'client stopped');
    }
    return session;
  }

  private loggedIn(session: ClientSession): void {
    this.enter(ClientState.Online);
    this.runId = session.runId;
    this.backoff.reset();
    this.lastFailure = '';
    // frp's wording: scripts and frp's e2e suite wait for it (the run id is cut short, as everywhere in burrow's logs)
    this.log.info(`login to server success, get run id [${shortRunId(this.runId)}]`, { server: `${this.config.serverAddr}:${this.config.serverPort}` });
    this.emit('online');
    this.proxies.registerAll();
  }

  private onSessionClosed(session: ClientSession, reason: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    if (this.state !== ClientState.Online) return; // a failed login: logIn() handles the retry
    this.enter(ClientState.Reconnecting);
    this.lastFailure = reason;
    this.log.warn('lost the server', { reason });
    this.emit('offline', reason);
    // The next session registers every proxy afresh.
    this.proxies.sessionLost();
    // Only stop() ends a re-login early, and stop() has already said so.
    this.logIn().catch(() => {});
  }

  /** The session proxies register on: only once it is logged in. */
  private loggedInSession(): ClientSession | undefined {
    return this.state === ClientState.Online ? this.session : undefined;
  }

  /** The proxies this client should run, the file's and the store's: enabled and, if `start` is set, named there (as frp, for stored ones too). */
  private selectProxies(config: ClientConfig): ProxyConfig[] {
    const selected = config.start.length > 0 ? new Set(config.start) : undefined;
    return withStored(config.proxies, this.store?.proxies ?? [], 'proxy', this.log).filter((p) => p.enabled && (!selected || selected.has(p.name)));
  }

  private selectVisitors(config: ClientConfig): ClientConfig['visitors'] {
    const selected = config.start.length > 0 ? new Set(config.start) : undefined;
    return withStored(config.visitors, this.store?.visitors ?? [], 'visitor', this.log).filter((v) => v.enabled && (!selected || selected.has(v.name)));
  }

  /** What the store asks of the client: the file's names (a stored entry may not take one) and a re-apply. */
  private storeHost(): StoreHost {
    return {
      fileNames: (kind) => new Set((kind === 'proxy' ? this.fileConfig.proxies : this.fileConfig.visitors).map((c) => c.name)),
      apply: () => void this.apply('store changed'),
    };
  }
}
