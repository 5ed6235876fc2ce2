import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ClientConfig, ProxyConfig } from '../config/types.js';
import type { ControlCipher } from '../control/control-cipher.js';
import { ControlChannel } from '../control/control-channel.js';
import { readOneMessage, writeMessage } from '../control/message-io.js';
import type { BurrowServerInfo, Message, NatHoleResp, NewProxyResp, StartWorkConn } from '../protocol/messages.js';
import { newProxyMessage } from './new-proxy.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { ClientAuth } from './auth/client-auth.js';
import { login } from './login.js';
import type { ServerLink } from './server-connection.js';

export enum SessionState {
  LoggingIn = 'logging in',
  Active = 'active',
  Closed = 'closed',
}

/** What a session tells its client; each event's listener arguments. */
export interface SessionEvents {
  /** NewProxyResp for one of our proxies (name without the user prefix) */
  proxyResp: [name: string, resp: NewProxyResp];
  /** a work connection that received StartWorkConn for `name` */
  workConn: [name: string, work: Duplex, start: StartWorkConn];
  /** an answer to an xtcp NatHoleVisitor or NatHoleClient */
  natHoleResp: [resp: NatHoleResp];
  /** emitted once, whether the login failed or a live session ended */
  close: [reason: string];
}

/**
 * A pooled work connection may wait long for its visitor (frp waits without
 * limit); a day bounds it so nothing lives forever.
 */
const WORK_CONN_IDLE_LIMIT_MS = 24 * 3600 * 1000;

/**
 * One logged-in session of the client: login, the encrypted control channel,
 * proxy registration, work connections on request, heartbeats.
 */
export class ClientSession extends EventEmitter<SessionEvents> {
  private state = SessionState.LoggingIn;
  private loginRunId = '';
  private loginServerInfo: BurrowServerInfo | undefined;
  private channel: ControlChannel | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastPong = Date.now();

  constructor(
    private readonly config: ClientConfig,
    private readonly auth: ClientAuth,
    private readonly conn: ServerLink,
    private readonly log: Logger,
  ) {
    super();
  }

  /** what a burrow server said about its public side at login; undefined from frps */
  get serverInfo(): BurrowServerInfo | undefined {
    return this.loginServerInfo;
  }

  /** the run id the server gave at login; empty before */
  get runId(): string {
    return this.loginRunId;
  }

  /** Dials and logs in; resolves once the control channel is up. `sessionGroup`: see Login's burrow_session_group. */
  async start(previousRunId: string, sessionGroup = ''): Promise<void> {
    let credential: Awaited<ReturnType<ClientAuth['login']>>;
    try {
      credential = await this.auth.login();
    } catch (err) {
      this.close('login failed');
      throw err;
    }
    const stream = await this.conn.open((err) => this.close(err ? `connection lost: ${describeError(err)}` : 'connection lost'));
    let cipher: ControlCipher;
    try {
      const loggedIn = await login(stream, this.config, credential, previousRunId, this.auth.alwaysAuthPass === true, sessionGroup);
      this.loginRunId = loggedIn.resp.run_id ?? '';
      this.loginServerInfo = loggedIn.resp.burrow_server;
      cipher = loggedIn.cipher;
    } catch (err) {
      stream.destroy();
      this.close('login failed');
      throw err;
    }
    if (this.state === SessionState.Closed) throw new Error('connection lost during login');
    this.state = SessionState.Active;
    this.channel = new ControlChannel(stream, cipher);
    this.channel.on('message', (msg: Message) => this.onMessage(msg));
    this.channel.once('close', (err?: Error) => this.close(err ? `control connection failed: ${describeError(err)}` : 'control connection closed'));
    this.startHeartbeat();
  }

  wireName(name: string): string {
    return this.config.user ? `${this.config.user}.${name}` : name;
  }

  /** Sends one message on the control connection; false when it is closed. */
  send(msg: Message): boolean {
    return this.channel?.send(msg) ?? false;
  }

  /** A new logical connection to the server (for visitor connections). */
  openStream(): Promise<Duplex> {
    return this.conn.openStream();
  }

  registerProxy(p: ProxyConfig): void {
    // A stock frps drops the IP rules' fields unread: say that nothing enforces them there.
    if (!this.loginServerInfo && (p.allowIPs?.length || p.denyIPs?.length)) {
      this.log.warn('allowIPs/denyIPs are not enforced: the server is not burrow (a stock frps ignores them)', { proxy: p.name });
    }
    this.channel?.send({ type: 'NewProxy', body: newProxyMessage(p, this.wireName(p.name)) });
  }

  closeProxy(name: string): void {
    this.channel?.send({ type: 'CloseProxy', body: { proxy_name: this.wireName(name) } });
  }

  private onMessage(msg: Message): void {
    switch (msg.type) {
      case 'ReqWorkConn':
        void this.openWorkConn();
        return;
      case 'NewProxyResp':
        this.emit('proxyResp', this.localName(msg.body.proxy_name ?? ''), msg.body);
        return;
      case 'NatHoleResp':
        this.emit('natHoleResp', msg.body);
        return;
      case 'Pong':
        if (msg.body.error) {
          this.close(`server refused the heartbeat: ${msg.body.error}`);
          return;
        }
        this.lastPong = Date.now();
        return;
      default:
        this.log.debug('ignored control message', { type: msg.type });
    }
  }

  private localName(wire: string): string {
    const prefix = this.config.user ? `${this.config.user}.` : '';
    return prefix && wire.startsWith(prefix) ? wire.slice(prefix.length) : wire;
  }

  /** Answers one ReqWorkConn: a new logical connection, NewWorkConn, then wait for StartWorkConn. */
  private async openWorkConn(): Promise<void> {
    let work: Duplex | undefined;
    try {
      work = await this.conn.openStream();
      work.on('error', () => {});
      const signed = await this.auth.newWorkConn();
      await writeMessage(work, { type: 'NewWorkConn', body: { run_id: this.loginRunId, ...signed } });
      const msg = await readOneMessage(work, WORK_CONN_IDLE_LIMIT_MS, 'StartWorkConn');
      if (msg.type !== 'StartWorkConn') throw new Error(`expected StartWorkConn, got ${msg.type}`);
      if (msg.body.error) throw new Error(`server refused the work connection: ${msg.body.error}`);
      this.emit('workConn', this.localName(msg.body.proxy_name ?? ''), work, msg.body);
    } catch (err) {
      work?.destroy();
      if (this.state === SessionState.Active) this.log.debug('work connection ended before use', { reason: describeError(err) });
    }
  }

  private startHeartbeat(): void {
    const { heartbeatInterval, heartbeatTimeout } = this.config.transport;
    if (heartbeatInterval <= 0) return;
    const ping = async (): Promise<void> => {
      this.log.debug('send heartbeat to server');
      try {
        const signed = await this.auth.ping();
        if (this.state === SessionState.Active) this.channel?.send({ type: 'Ping', body: signed });
      } catch (err) {
        // As frp: this heartbeat is skipped; the timeout decides whether the session survives.
        this.log.warn('error during ping authentication, skip sending ping message', { reason: describeError(err) });
      }
    };
    void ping();
    let sinceLastPing = 0;
    this.heartbeat = setInterval(() => {
      sinceLastPing += 1;
      if (sinceLastPing >= heartbeatInterval) {
        sinceLastPing = 0;
        void ping();
      }
      if (heartbeatTimeout > 0 && Date.now() - this.lastPong > heartbeatTimeout * 1000) {
        this.close(`no heartbeat answer for ${heartbeatTimeout} s`);
      }
    }, 1000);
    this.heartbeat.unref();
  }

  close(reason: string): void {
    if (this.state === SessionState.Closed) return;
    this.state = SessionState.Closed;
    clearInterval(this.heartbeat);
    this.channel?.close();
    this.conn.close();
    this.emit('close', reason);
  }
}
