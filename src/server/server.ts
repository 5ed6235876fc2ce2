import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { readOneMessage, writeMessage } from '../control/message-io.js';
import { YamuxSession } from '../mux/session.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import type { Login, Message, NewProxy, NewWorkConn } from '../protocol/messages.js';
import { verifyTokenDigest } from '../protocol/auth.js';
import type { ServerProxy } from '../proxy/types.js';
import { certificateFingerprint, loadOrCreateServerCertificate } from '../transport/generated-cert.js';
import { getTransport, type AcceptedConnection, type TransportListener } from '../transport/index.js';
import { BurrowError, describeError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { FRP_COMPAT_VERSION } from '../version.js';
import { ControlSession, ControlState, type ControlHost } from './control-session.js';
import { serveVisitorConn } from './visitor-conn.js';
import { NatHoleCoordinator } from './nat-hole.js';
import { ProxyFactory } from './proxy-factory.js';
import { checkStartPolicy } from './start-policy.js';

/** frp: the first message of every new logical connection must arrive within 10 s. */
const FIRST_MESSAGE_TIMEOUT_MS = 10_000;
/** Proxies one client may register, whatever it sends (bounded memory). */
const MAX_PROXIES_PER_CLIENT = 1024;

export enum ServerState {
  Idle = 'idle',
  Running = 'running',
  Stopped = 'stopped',
}

/**
 * The public side. Accepts clients on bindPort (TLS or plain, sniffed),
 * demultiplexes yamux when tcpMux is on, and routes each logical connection by
 * its first message: Login → a new ControlSession, NewWorkConn → that client's
 * pool, anything else → refused and closed.
 */
/**
 * Events, for the dashboard and metrics: 'clientOnline' (control),
 * 'clientOffline' (control), 'proxyStarted' (control, proxy, NewProxy),
 * 'proxyClosed' (control, proxy).
 */
export class BurrowServer extends EventEmitter implements ControlHost {
  state = ServerState.Idle;
  private listener: TransportListener | undefined;
  private readonly controls = new Map<string, ControlSession>();
  private readonly proxyOwners = new Map<string, ControlSession>();
  private readonly physical = new Set<{ destroy(): void }>();
  private readonly key: Buffer;
  private readonly proxies: ProxyFactory;
  private readonly natHole: NatHoleCoordinator;

  constructor(
    readonly config: ServerConfig,
    private readonly log: Logger = silentLogger,
  ) {
    super();
    this.key = deriveCipherKey(config.auth.token);
    this.proxies = new ProxyFactory(config, this.key, log);
    this.natHole = new NatHoleCoordinator({ findProxy: (n) => this.findProxy(n), controlOf: (id) => this.controls.get(id) }, log.child({ part: 'xtcp' }));
  }

  get port(): number {
    return this.listener?.port ?? 0;
  }

  /** Connections currently open on bindPort plus visitors on every proxy: 0 when nothing leaks. */
  get activeConnections(): number {
    let n = (this.listener?.connectionCount ?? 0) + this.proxies.connectionCount;
    for (const c of this.controls.values()) for (const p of c.proxies.values()) n += p.activeConnections;
    return n;
  }

  get clients(): readonly ControlSession[] {
    return [...this.controls.values()];
  }

  /** The user of a live client, for visitor checks; undefined when no client has this run id. */
  userOfRunId(runId: string): string | undefined {
    return this.controls.get(runId)?.user;
  }

  findProxy(name: string): ServerProxy | undefined {
    return this.proxyOwners.get(name)?.proxies.get(name);
  }

  async start(): Promise<void> {
    if (this.state !== ServerState.Idle) throw new BurrowError('BURROW_CLOSED', `server is ${this.state}`);
    const { tls, tcpMux } = this.config.transport;
    checkStartPolicy(this.config, this.log);
    const cert = tls.certFile
      ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
      : loadOrCreateServerCertificate(tls.generatedCertDir);
    let fingerprint = '';
    try {
      fingerprint = 'fingerprint' in cert ? cert.fingerprint : certificateFingerprint(cert.cert);
    } catch {
      // An unusable certificate file is reported by the TLS setup below, with OpenSSL's reason.
    }
    this.listener = await getTransport('tcp').listen(
      {
        host: this.config.bindAddr,
        port: this.config.bindPort,
        tls: {
          cert: cert.cert,
          key: cert.key,
          ca: tls.trustedCaFile ? readFileSync(tls.trustedCaFile) : undefined,
          force: tls.force || tls.trustedCaFile !== '',
        },
        onError: (err, remote) => this.log.warn('connection refused', { remote, reason: describeError(err) }),
      },
      (conn) => (tcpMux ? this.acceptMux(conn) : this.acceptLogical(conn.stream, conn.remoteAddress, () => conn.stream.destroy())),
    );
    try {
      await this.proxies.openVhosts();
    } catch (err) {
      // Nothing half-started: the ports already open are closed again.
      this.state = ServerState.Stopped;
      await this.closeListeners();
      throw err;
    }
    this.state = ServerState.Running;
    // Accepted so frps files load unchanged, but nothing listens there (docs/transports.md).
    for (const [key, port] of [['kcpBindPort', this.config.kcpBindPort], ['quicBindPort', this.config.quicBindPort]] as const) {
      if (port > 0) this.log.warn(`${key} is set but not served: burrow does not support ${key === 'kcpBindPort' ? 'KCP' : 'QUIC'} yet`, { port });
    }
    this.log.info('server listening', { addr: `${this.config.bindAddr}:${this.port}`, tcpMux });
    // The exact form clients pin with transport.tls.serverFingerprint.
    if (fingerprint) this.log.info(`server certificate fingerprint: ${fingerprint}`, { certificate: 'source' in cert ? cert.source : tls.certFile });
  }

  private async closeListeners(): Promise<void> {
    await this.listener?.close();
    await this.proxies.close();
  }

  async stop(): Promise<void> {
    if (this.state === ServerState.Stopped) return;
    this.state = ServerState.Stopped;
    for (const c of [...this.controls.values()]) c.close('server stopping');
    for (const p of [...this.physical]) p.destroy();
    await this.closeListeners();
    this.log.info('server stopped');
  }

  private acceptMux(conn: AcceptedConnection): void {
    const session = new YamuxSession(conn.stream, {
      client: false,
      keepaliveIntervalMs: this.config.transport.tcpMuxKeepaliveInterval * 1000,
    });
    const handle = { destroy: () => session.destroy() };
    this.physical.add(handle);
    session.once('close', () => this.physical.delete(handle));
    session.on('error', () => {});
    session.on('stream', (stream: Duplex) => this.acceptLogical(stream, conn.remoteAddress, () => session.destroy()));
  }

  /** One logical connection (a yamux stream, or a whole socket without mux): route by its first message. */
  private acceptLogical(stream: Duplex, remote: string, teardown: () => void): void {
    stream.on('error', () => {});
    readOneMessage(stream, FIRST_MESSAGE_TIMEOUT_MS).then(
      (msg) => {
        switch (msg.type) {
          case 'Login':
            return this.handleLogin(stream, msg.body, remote, teardown);
          case 'NewWorkConn':
            return this.handleWorkConn(stream, msg.body, remote);
          case 'NewVisitorConn':
            return serveVisitorConn(stream, msg.body, remote, this, this.config.detailedErrorsToClient, this.log);
          default:
            this.log.warn('connection refused: unexpected first message', { remote, type: msg.type });
            stream.destroy();
        }
      },
      (err: unknown) => {
        this.log.warn('connection dropped', { remote, reason: describeError(err) });
        stream.destroy();
      },
    ).catch((err: unknown) => {
      this.log.error('connection handler failed', { remote, reason: describeError(err) });
      stream.destroy();
    });
  }

  private async handleLogin(stream: Duplex, login: Login, remote: string, teardown: () => void): Promise<void> {
    const refuse = async (reason: string): Promise<void> => {
      this.log.warn('login refused', { remote, user: login.user, reason });
      await writeMessage(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, error: reason } }).catch(() => {});
      stream.end();
      // The refused client gets no other stream: tear its physical connection down once the answer is out.
      setTimeout(teardown, 1000).unref();
    };
    if (this.state !== ServerState.Running) return refuse('server is shutting down');
    if (!login.version) return refuse('login refused: the version field is missing');
    if (!verifyTokenDigest(this.config.auth.token, login.timestamp ?? 0, login.privilege_key ?? '')) {
      return refuse('authorization failed: the token in login does not match the server token');
    }
    let runId = login.run_id ?? '';
    if (runId !== '' && !/^[0-9a-zA-Z_-]{1,64}$/.test(runId)) return refuse('login refused: run_id is malformed');
    const previous = runId ? this.controls.get(runId) : undefined;
    if (previous) previous.close('replaced by a new login with the same run_id');
    if (runId === '') runId = randomBytes(8).toString('hex');

    await writeMessage(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, run_id: runId } });
    const log = this.log.child({ client: runId, ...(login.user ? { user: login.user } : {}) });
    const control = new ControlSession(this, runId, login, remote, stream, this.key, teardown, log);
    if (control.state === ControlState.Active) {
      this.controls.set(runId, control);
      this.emit('clientOnline', control);
      log.info('client logged in', { remote, version: login.version, hostname: login.hostname });
    }
  }

  private async handleWorkConn(stream: Duplex, msg: NewWorkConn, remote: string): Promise<void> {
    const control = this.controls.get(msg.run_id ?? '');
    const refuse = async (reason: string): Promise<void> => {
      this.log.warn('work connection refused', { remote, reason });
      const error = this.config.detailedErrorsToClient ? reason : 'invalid NewWorkConn';
      await writeMessage(stream, { type: 'StartWorkConn', body: { error } }).catch(() => {});
      stream.end();
    };
    if (!control) return refuse(`no client control found for run id [${msg.run_id ?? ''}]`);
    const { auth } = this.config;
    if (auth.additionalScopes.includes('NewWorkConns') && !verifyTokenDigest(auth.token, msg.timestamp ?? 0, msg.privilege_key ?? '')) {
      return refuse('the token in NewWorkConn does not match the server token');
    }
    if (!control.pool.put(stream)) return refuse('work connection pool is full');
  }

  // ControlHost

  async createProxy(control: ControlSession, msg: NewProxy): Promise<ServerProxy> {
    const name = msg.proxy_name ?? '';
    const type = msg.proxy_type || 'tcp';
    if (name === '') throw new BurrowError('BURROW_PROXY_REJECTED', 'proxy name is empty');
    if (this.proxyOwners.has(name)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}" already exists`);
    if (control.proxies.size >= MAX_PROXIES_PER_CLIENT) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this client already has ${MAX_PROXIES_PER_CLIENT} proxies`);
    }
    // Reserve the name while the listener opens so a concurrent duplicate is refused too.
    this.proxyOwners.set(name, control);
    try {
      return await this.proxies.build(control, name, type, msg);
    } catch (err) {
      this.proxyOwners.delete(name);
      throw err;
    }
  }

  /** The port of the tcpmux (HTTP CONNECT) vhost, 0 when off. */
  get vhostTcpmuxPort(): number {
    return this.proxies.vhostTcpmuxPort;
  }

  /** The port of the HTTPS (SNI) vhost, 0 when off. */
  get vhostHttpsPort(): number {
    return this.proxies.vhostHttpsPort;
  }

  /** The port of the HTTP vhost, 0 when off. */
  get vhostHttpPort(): number {
    return this.proxies.vhostHttpPort;
  }

  proxyStarted(control: ControlSession, proxy: ServerProxy, msg: NewProxy): void {
    this.emit('proxyStarted', control, proxy, msg);
  }

  releaseProxy(control: ControlSession, proxy: ServerProxy): void {
    if (this.proxyOwners.get(proxy.name) === control) this.proxyOwners.delete(proxy.name);
    this.emit('proxyClosed', control, proxy);
  }

  natHoleMessage(control: ControlSession, msg: Message): void {
    this.natHole.onMessage(control, msg);
  }

  controlClosed(control: ControlSession): void {
    if (this.controls.get(control.runId) === control) this.controls.delete(control.runId);
    this.emit('clientOffline', control);
  }
}
