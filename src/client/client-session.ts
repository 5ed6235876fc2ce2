import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ClientConfig, ProxyConfig } from '../config/types.js';
import type { ControlCipher } from '../control/control-cipher.js';
import { ControlChannel } from '../control/control-channel.js';
import { readOneMessage, writeMessage } from '../control/message-io.js';
import { tokenDigest } from '../protocol/auth.js';
import type { Message, NatHoleResp, NewProxyResp, StartWorkConn } from '../protocol/messages.js';
import { newProxyMessage } from './new-proxy.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { login } from './login.js';
import type { ServerConnection } from './server-connection.js';

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
  private channel: ControlChannel | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastPong = Date.now();

  constructor(
    private readonly config: ClientConfig,
    private readonly conn: ServerConnection,
    private readonly log: Logger,
  ) {
    super();
  }

  /** the run id the server gave at login; empty before */
  get runId(): string {
    return this.loginRunId;
  }

  /** Dials and logs in; resolves once the control channel is up. */
  async start(previousRunId: string): Promise<void> {
    const stream = await this.conn.open((err) => this.close(err ? `connection lost: ${describeError(err)}` : 'connection lost'));
    let cipher: ControlCipher;
    try {
      const loggedIn = await login(stream, this.config, previousRunId);
      this.loginRunId = loggedIn.resp.run_id ?? '';
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
      const timestamp = Math.floor(Date.now() / 1000);
      const scoped = this.config.auth.additionalScopes.includes('NewWorkConns');
      await writeMessage(work, {
        type: 'NewWorkConn',
        body: {
          run_id: this.loginRunId,
          ...(scoped ? { privilege_key: tokenDigest(this.config.auth.token, timestamp), timestamp } : {}),
        },
      });
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
    const ping = (): void => {
      const scoped = this.config.auth.additionalScopes.includes('HeartBeats');
      const timestamp = Math.floor(Date.now() / 1000);
      this.log.debug('send heartbeat to server');
      this.channel?.send({
        type: 'Ping',
        body: scoped ? { privilege_key: tokenDigest(this.config.auth.token, timestamp), timestamp } : {},
      });
    };
    ping();
    let sinceLastPing = 0;
    this.heartbeat = setInterval(() => {
      sinceLastPing += 1;
      if (sinceLastPing >= heartbeatInterval) {
        sinceLastPing = 0;
        ping();
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
