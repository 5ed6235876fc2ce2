import type { Duplex } from 'node:stream';
import type { ControlCipher } from '../control/control-cipher.js';
import { ControlChannel } from '../control/control-channel.js';
import type { ServerConfig } from '../config/types.js';
import type { Login, Message, NewProxy, Ping } from '../protocol/messages.js';
import type { WireProtocol } from '../protocol/wire-codec.js';
import type { ServerProxy } from '../proxy/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import { clipped } from '../util/peer-string.js';
import type { Logger } from '../util/logger.js';
import type { ManagePlugins } from './manage-plugins/manager.js';
import type { PluginUserInfo } from './manage-plugins/types.js';
import type { Account } from './accounts/account.js';
import type { Accounts } from './accounts/accounts.js';
import type { AuthVerifier } from './auth/verifier.js';
import { WorkConnPool } from './work-conn-pool.js';

export enum ControlState {
  Active = 'active',
  Closed = 'closed',
}

/** What a control session needs from the server that owns it. */
export interface ControlHost {
  readonly config: ServerConfig;
  /** frps server plugins (`[[httpPlugins]]`) */
  readonly plugins: ManagePlugins;
  readonly auth: AuthVerifier;
  /** opens the public side of a proxy; throws a BurrowError with a readable reason */
  createProxy(control: ControlSession, msg: NewProxy): Promise<ServerProxy>;
  proxyStarted(control: ControlSession, proxy: ServerProxy, msg: NewProxy): void;
  releaseProxy(control: ControlSession, proxy: ServerProxy): void;
  controlClosed(control: ControlSession): void;
  /** `admitConnection`: a place for one more user connection of an account (its release), or why not, naming the limit */
  readonly accounts: Pick<Accounts, 'admitConnection'>;
  /** NatHoleVisitor, NatHoleClient and NatHoleReport (xtcp coordination) */
  natHoleMessage?(control: ControlSession, msg: Message): void;
}

/** Pings whose check (OIDC: maybe waiting for the issuer) has not finished; frpc sends one per heartbeatInterval. */
const MAX_PINGS_WAITING = 16;

/** Work connections frp keeps in reserve beyond the client's pool size. */
const POOL_SLACK = 10;
/** Pings waiting for the Ping plugins; a client that sends more meanwhile has those dropped. */
const MAX_PENDING_PINGS = 4;

/**
 * One logged-in client on the server: its encrypted control channel, its
 * proxies, its pool of idle work connections and its heartbeat check.
 */
export class ControlSession {
  state = ControlState.Active;
  readonly proxies = new Map<string, ServerProxy>();
  readonly pool: WorkConnPool;
  readonly connectedAt = Date.now();
  private readonly channel: ControlChannel;
  private lastPing = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** NewProxy requests are answered in order, one at a time, as frp does */
  private proxyQueue: Promise<void> = Promise.resolve();
  private pendingPings = 0;
  private pingsWaiting = 0;

  constructor(
    private readonly host: ControlHost,
    readonly runId: string,
    readonly login: Login,
    /**
     * who the Login's credential named (the OIDC subject; empty with a token):
     * scoped Pings and NewWorkConns must name the same. undefined for the SSH
     * gateway's in-process client, which is not asked for credentials again.
     */
    readonly authSubject: string | undefined,
    readonly remoteAddress: string,
    stream: Duplex,
    /** the v1 cipher key, or the cipher a v2 hello agreed */
    key: Buffer | ControlCipher,
    /** the physical connection (yamux session or socket) torn down with this control */
    private readonly teardown: () => void,
    readonly log: Logger,
    /** the `[[users]]` account this client logged in as; undefined with the global token */
    readonly account?: Account,
  ) {
    const poolCount = Math.min(login.pool_count ?? 0, host.config.transport.maxPoolCount);
    this.pool = new WorkConnPool(poolCount + POOL_SLACK, () => this.send({ type: 'ReqWorkConn', body: {} }));
    this.channel = new ControlChannel(stream, key, host.config.limits.controlQueueBytes);
    this.channel.on('message', (msg: Message) => this.onMessage(msg));
    this.channel.once('close', (err?: Error) => this.close(err ? `control connection failed: ${describeError(err)}` : 'control connection closed'));
    for (let i = 0; i < poolCount; i++) this.send({ type: 'ReqWorkConn', body: {} });
    const timeout = host.config.transport.heartbeatTimeout;
    if (timeout > 0) {
      this.heartbeatTimer = setInterval(() => {
        if (Date.now() - this.lastPing > timeout * 1000) this.close(`no heartbeat for ${timeout} s`);
      }, 1000);
      this.heartbeatTimer.unref();
    }
  }

  /** the framing the client logged in with (the dashboard's `wireProtocol`) */
  get wireProtocol(): WireProtocol {
    return this.channel.wireProtocol;
  }

  get user(): string {
    return this.login.user ?? '';
  }

  get metas(): Readonly<Record<string, string>> {
    return this.login.metas ?? {};
  }

  /** Who this client is, as the server plugins are told. */
  get pluginUser(): PluginUserInfo {
    return { user: this.user, metas: { ...this.metas }, run_id: this.runId };
  }

  get portsUsed(): number {
    let n = 0;
    for (const p of this.proxies.values()) n += p.portsUsed;
    return n;
  }

  /** false when the message was not sent: the control is closed, or closed by this send (its queue bound). */
  send(msg: Message): boolean {
    return this.channel.send(msg);
  }

  /** what the client said it can read beyond frp; empty for a stock frpc */
  get burrowFeatures(): readonly string[] {
    return this.login.burrow_features ?? [];
  }

  /**
   * A work connection of this client; waits for one (bounded by
   * userConnTimeout) when none is idle. Each carries one user connection, so
   * a listed user's expiry, quota and maxConnections are checked here, for
   * every proxy type, and the place is held until the work connection closes.
   */
  async getWorkConn(): Promise<Duplex> {
    const release = this.account ? this.host.accounts.admitConnection(this.account) : undefined;
    if (typeof release === 'string') throw new BurrowError('BURROW_ACCOUNT_LIMIT', release);
    let stream: Duplex;
    try {
      stream = await this.pool.take(this.host.config.userConnTimeout * 1000);
    } catch (err) {
      release?.();
      throw err;
    }
    if (release) stream.once('close', release);
    return stream;
  }

  private onMessage(msg: Message): void {
    switch (msg.type) {
      case 'NewProxy':
        this.proxyQueue = this.proxyQueue
          .then(() => this.newProxy(msg.body))
          .catch((err: unknown) => {
            // Say, an answer too large for a frame: logged, never an unhandled rejection.
            this.log.warn('registering a proxy failed', { reason: describeError(err) });
          });
        return;
      case 'CloseProxy':
        // In the same queue as NewProxy: a reload's close-then-register of one name must not race.
        this.proxyQueue = this.proxyQueue
          .then(() => this.closeProxy(msg.body.proxy_name ?? ''))
          .catch((err: unknown) => {
            // A chain left rejected would be an unhandled rejection, which ends the process.
            this.log.warn('closing a proxy failed', { reason: describeError(err) });
          });
        return;
      case 'Ping':
        if (this.host.plugins.has('Ping')) this.pingThroughPlugins(msg.body);
        else this.onPing(msg.body);
        return;
      case 'NatHoleVisitor':
      case 'NatHoleClient':
      case 'NatHoleReport':
        this.host.natHoleMessage?.(this, msg);
        return;
      default:
        // Types we do not handle on the control are ignored as frp does.
        this.log.debug('ignored control message', { type: msg.type });
    }
  }

  /**
   * A token check answers at once, so Pongs keep the Pings' order and a flood
   * is answered (and cut off by controlQueueBytes) as before. An OIDC check may
   * wait for the issuer: at most MAX_PINGS_WAITING wait, the rest are dropped.
   */
  private onPing(ping: { privilege_key?: string; timestamp?: number }): void {
    // Only checks that wait are counted, so this never drops a token-checked Ping.
    if (this.pingsWaiting >= MAX_PINGS_WAITING) return;
    const verdict = this.authSubject === undefined ? undefined : this.host.auth.verifyPing(ping, this.authSubject);
    if (!(verdict instanceof Promise)) {
      this.answerPing(verdict);
      return;
    }
    this.pingsWaiting += 1;
    verdict
      .then((refusal) => this.answerPing(refusal))
      .catch((err: unknown) => this.log.warn('heartbeat check failed', { reason: describeError(err) }))
      .finally(() => {
        this.pingsWaiting -= 1;
      });
  }

  private answerPing(refusal: string | undefined): void {
    if (this.state !== ControlState.Active) return;
    if (refusal !== undefined) {
      this.log.warn('heartbeat refused', { reason: refusal });
      this.send({ type: 'Pong', body: { error: refusal } });
      return;
    }
    this.lastPing = Date.now();
    this.send({ type: 'Pong', body: {} });
  }

  /** A Ping the plugins see first (and may change, as frps) before its own checks. */
  private pingThroughPlugins(sent: Ping): void {
    if (this.pendingPings >= MAX_PENDING_PINGS) {
      this.log.debug('heartbeat dropped: the Ping plugins are still busy with earlier ones');
      return;
    }
    this.pendingPings += 1;
    this.host.plugins
      .ping(this.pluginUser, sent)
      .then(
        (ping) => this.onPing(ping),
        (err: unknown) => {
          const reason = describeError(err);
          this.log.warn('heartbeat refused', { reason: clipped(reason) });
          this.send({ type: 'Pong', body: { error: this.host.config.detailedErrorsToClient ? reason : 'invalid ping' } });
        },
      )
      .finally(() => {
        this.pendingPings -= 1;
      })
      .catch((err: unknown) => this.log.warn('heartbeat failed', { reason: describeError(err) }));
  }

  private async newProxy(asked: NewProxy): Promise<void> {
    let msg = asked;
    let name = msg.proxy_name ?? '';
    if (this.state !== ControlState.Active) return;
    try {
      if (this.host.plugins.has('NewProxy')) {
        // As frps: what the plugins return (a new remote_port, say) is what gets built.
        msg = await this.host.plugins.newProxy(this.pluginUser, asked);
        name = msg.proxy_name ?? '';
        if (this.state !== ControlState.Active) return;
      }
      const proxy = await this.host.createProxy(this, msg);
      if (this.state !== ControlState.Active) {
        this.host.releaseProxy(this, proxy);
        await proxy.close();
        return;
      }
      let sent: boolean;
      try {
        sent = this.send({ type: 'NewProxyResp', body: { proxy_name: name, remote_addr: proxy.remoteAddr } });
      } catch (err) {
        // The answer could not go out (say, a frame over the bound): the client
        // takes the proxy as refused, so the server must not keep it either.
        this.host.releaseProxy(this, proxy);
        await proxy.close();
        throw err;
      }
      // A send that hit the queue bound closed this control, and close() ran
      // before the proxy was ours to release: release it here.
      if (!sent || this.state !== ControlState.Active) {
        this.host.releaseProxy(this, proxy);
        await proxy.close();
        return;
      }
      this.proxies.set(name, proxy);
      this.host.proxyStarted(this, proxy, msg);
      this.log.info('proxy started', { proxy: clipped(name), type: proxy.type, remote: proxy.remoteAddr });
    } catch (err) {
      const reason = describeError(err);
      this.log.warn('proxy refused', { proxy: clipped(name), reason: clipped(reason) });
      const error = this.host.config.detailedErrorsToClient ? reason : `new proxy [${name}] error`;
      this.send({ type: 'NewProxyResp', body: { proxy_name: name, error } });
    }
  }

  private async closeProxy(name: string): Promise<void> {
    const proxy = this.proxies.get(name);
    if (!proxy) return;
    this.proxies.delete(name);
    this.host.releaseProxy(this, proxy);
    await proxy.close();
    this.log.info('proxy closed', { proxy: clipped(name) });
    this.host.plugins.closeProxy(this.pluginUser, name);
  }

  /** Ends this control: proxies closed, pool drained, physical connection torn down. Idempotent. */
  close(reason: string): void {
    if (this.state === ControlState.Closed) return;
    this.state = ControlState.Closed;
    clearInterval(this.heartbeatTimer);
    this.log.info('client disconnected', { reason });
    this.channel.close();
    this.pool.close();
    for (const [name, proxy] of this.proxies) {
      this.proxies.delete(name);
      this.host.releaseProxy(this, proxy);
      proxy.close().catch((err: unknown) => this.log.warn('closing a proxy failed', { proxy: name, reason: describeError(err) }));
      this.host.plugins.closeProxy(this.pluginUser, name);
    }
    this.teardown();
    this.host.controlClosed(this);
  }
}
