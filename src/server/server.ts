import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import type { ControlCipher } from '../control/control-cipher.js';
import { YamuxSession } from '../mux/session.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import type { Login, Message, NewProxy } from '../protocol/messages.js';
import type { ServerProxy } from '../proxy/types.js';
import { NatHoleCoordinator } from '../proxy/xtcp/nat-hole-coordinator.js';
import { getTransport, type AcceptedConnection, type AcceptedSession, type ListenOptions, type TransportListener } from '../transport/index.js';
import { BurrowError, describeError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { closeUdpListeners, openUdpListeners, udpConnectionCount, type UdpListeners } from './udp-listeners.js';
import { addressKey } from '../util/address.js';
import { loadBindCertificate } from './bind-certificate.js';
import { BindConn, BindConnState } from './bind-conn.js';
import { readFirstMessage } from './first-message.js';
import { ClientTable } from './client-table.js';
import { ManagePlugins } from './manage-plugins/manager.js';
import { createAuthVerifier, type AuthVerifier } from './auth/verifier.js';
import { serveLogin } from './login.js';
import { serveWorkConn, visitorLookupFor } from './work-conn-admission.js';
import { PreAuthGate } from './pre-auth-gate.js';
import { RefusalLog, sniffFailure } from '../util/refusal-log.js';
import { ControlSession, type ControlHost } from './control-session.js';
import { serveVisitorConn } from './visitor-conn.js';
import { ProxyFactory } from './proxy-factory.js';
import { checkStartPolicy } from './start-policy.js';
import { bindPortShare } from './port-sharing.js';
import { ProxyNames } from './proxy-names.js';
import type { Timers } from '../util/timers.js';
import type { CertificateManager } from '../acme/certificate-manager.js';
import { ClusterNode } from '../cluster/node.js';
import { claimInCluster } from './cluster-claims.js';
import { acceptProxyLink, relayNatHole } from './cluster-visitors.js';
import { ClusterShared, usageLedger } from './cluster-shared.js';
import type { Account } from './accounts/account.js';
import { Accounts } from './accounts/accounts.js';
import { registrationRefusal } from './accounts/registration.js';
import { LoginThrottle } from './login-throttle.js';

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
 * pool, anything else → refused and closed. Events, for the dashboard and metrics: 'clientOnline' (control),
 * 'clientOffline' (control), 'proxyStarted' (control, proxy, NewProxy),
 * 'proxyClosed' (control, proxy).
 */
export class BurrowServer extends EventEmitter implements ControlHost {
  state = ServerState.Idle;
  private listener: TransportListener | undefined;
  private udp: UdpListeners = {};
  readonly clientTable = new ClientTable();
  private readonly proxyNames = new ProxyNames();
  private readonly physical = new Set<{ destroy(): void }>();
  private readonly gate: PreAuthGate;
  readonly refusals: RefusalLog;
  private readonly key: Buffer;
  readonly proxies: ProxyFactory;
  private readonly natHole: NatHoleCoordinator;
  /** frps server plugins (`[[httpPlugins]]`), asked in the login, control, work-connection and proxy paths */
  readonly plugins: ManagePlugins;
  /** checks Login, and scoped Pings and NewWorkConns, by auth.method */
  readonly auth: AuthVerifier;
  /** this server's membership of a cluster (`cluster.redis`); undefined for a single server, which never touches Redis */
  readonly cluster: ClusterNode | undefined;
  /** what the nodes share besides claims: usage, statistics, users reloads */
  readonly shared: ClusterShared | undefined;
  /** `[[users]]`: tokens, limits, traffic counters */
  readonly accounts: Accounts;
  readonly loginThrottle: LoginThrottle;

  constructor(
    readonly config: ServerConfig,
    readonly log: Logger = silentLogger,
    /** the clock of long-lived timers that tests drive (certificate renewal) */
    options: { timers?: Timers } = {},
  ) {
    super();
    this.key = deriveCipherKey(config.auth.token);
    const c = config.cluster;
    this.cluster = c.redis ? new ClusterNode(c, config.bindAddr, config.proxyBindAddr, config.bindPort, log.child({ part: 'cluster' })) : undefined;
    this.shared = this.cluster && new ClusterShared(this.cluster, this, log.child({ part: 'cluster' }));
    this.accounts = new Accounts(config.users, usageLedger(config, this.shared, log), log.child({ part: 'accounts' }), Date.now, config.usersFile !== '');
    this.auth = createAuthVerifier(config.auth, log, this.accounts);
    this.loginThrottle = new LoginThrottle(config.limits.failedLoginsPerIP);
    this.gate = new PreAuthGate(config.limits);
    this.refusals = new RefusalLog(log);
    this.plugins = new ManagePlugins(config.httpPlugins, config.limits.pluginTimeout * 1000, log.child({ part: 'plugins' }));
    this.proxies = new ProxyFactory(config, this.key, log, this.plugins, options.timers, this.cluster);
    this.natHole = new NatHoleCoordinator({ findProxy: (n) => this.findProxy(n), controlOf: (id) => this.clientTable.get(id) }, log.child({ part: 'xtcp' }));
  }

  get port(): number {
    return this.listener?.port ?? 0;
  }

  /** The UDP port KCP clients reach (kcpBindPort), 0 when not serving KCP. */
  get kcpPort(): number {
    return this.udp.kcp?.port ?? 0;
  }

  /** The UDP port QUIC clients reach (quicBindPort), 0 when not serving QUIC. */
  get quicPort(): number {
    return this.udp.quic?.port ?? 0;
  }

  /** Connections currently open on bindPort plus visitors on every proxy: 0 when nothing leaks. */
  get activeConnections(): number {
    let n = (this.listener?.connectionCount ?? 0) + udpConnectionCount(this.udp) + this.proxies.connectionCount;
    for (const c of this.clientTable.values()) for (const p of c.proxies.values()) n += p.activeConnections;
    return n;
  }

  get clients(): readonly ControlSession[] {
    return [...this.clientTable.values()];
  }

  /** false once the server is stopping: logins are refused */
  get accepting(): boolean {
    return this.state === ServerState.Running;
  }

  /** The user of a live client, for visitor checks; undefined when no client has this run id. */
  userOfRunId(runId: string): string | undefined {
    return this.clientTable.get(runId)?.user;
  }

  findProxy(name: string): ServerProxy | undefined {
    return this.proxyNames.ownerOf(name)?.proxies.get(name);
  }

  async start(): Promise<void> {
    if (this.state !== ServerState.Idle) throw new BurrowError('BURROW_CLOSED', `server is ${this.state}`);
    const { tls, tcpMux } = this.config.transport;
    checkStartPolicy(this.config, this.log);
    // Before the port opens: a usage file that cannot be read stops the start (quotas must not reset silently).
    this.accounts.start();
    const cert = loadBindCertificate(tls);
    const listenOptions: ListenOptions = {
      host: this.config.bindAddr,
      port: this.config.bindPort,
      tls: {
        cert: cert.cert,
        key: cert.key,
        ca: tls.trustedCaFile ? readFileSync(tls.trustedCaFile) : undefined,
        force: tls.force || tls.trustedCaFile !== '',
      },
      admit: (address, drop) => this.admit(address, drop),
      onError: (err, remote) => this.refusals.refused(sniffFailure(err), remote, { reason: describeError(err) }),
    };
    // QUIC hands out sessions whose streams replace yamux's, whatever tcpMux says (as frps).
    const onConnection = (conn: AcceptedConnection | AcceptedSession): void => {
      if ('session' in conn) this.serveStreams(conn.session, conn);
      else if (tcpMux) this.acceptMux(conn);
      else this.acceptLogical(conn.stream, new BindConn(conn.remoteAddress, conn.admission, () => conn.stream.destroy(), conn.remotePort));
    };
    // Only the TCP bind port carries frps's shared vhost ports; KCP and QUIC are client transports alone.
    const share = bindPortShare(this.config, (kind, socket) => this.proxies.acceptShared(kind, socket));
    this.listener = await getTransport('tcp').listen({ ...listenOptions, share }, onConnection);
    try {
      this.udp = await openUdpListeners(this.config, listenOptions, onConnection, this.log);
      await this.proxies.openVhosts();
      await this.cluster?.start(
        {
          acceptVhost: (kind, socket) => this.proxies.acceptLinked(kind, socket),
          claimLost: (runId) => this.clientTable.get(runId)?.close('its client now holds its proxies through another node of the cluster'),
          acceptProxyLink: (kind, hello, socket) => acceptProxyLink(this, this.natHole, kind, hello, socket),
        },
        { cert: cert.cert, key: cert.key },
      );
      this.shared?.start();
    } catch (err) {
      // Nothing half-started: the ports already open are closed again.
      this.state = ServerState.Stopped;
      await this.closeListeners();
      throw err;
    }
    this.state = ServerState.Running;
    this.log.info('server listening', { addr: `${this.config.bindAddr}:${this.port}`, tcpMux });
    // The exact form clients pin with transport.tls.serverFingerprint.
    if (cert.fingerprint) this.log.info(`server certificate fingerprint: ${cert.fingerprint}`, { certificate: cert.source });
  }

  private async closeListeners(): Promise<void> {
    await this.listener?.close();
    await closeUdpListeners(this.udp);
    await this.cluster?.stop();
    await this.proxies.close();
  }

  async stop(): Promise<void> {
    if (this.state === ServerState.Stopped) return;
    this.state = ServerState.Stopped;
    for (const c of [...this.clientTable.values()]) c.close('server stopping');
    for (const p of [...this.physical]) p.destroy();
    // The last counters go out while the cluster's Redis connection is still open.
    await this.accounts.stop();
    await this.shared?.stop();
    await this.closeListeners();
    this.plugins.close();
    this.refusals.close();
    this.log.info('server stopped');
  }

  /** At TCP accept, before anything is read: a place among the connections not yet logged in. */
  private admit(address: string, drop: () => void): ReturnType<PreAuthGate['enter']> {
    // IPv6 is counted per /64, as on the vhost ports: one host often has a whole /64.
    const key = addressKey(address);
    const ticket = this.gate.enter(
      key,
      () => {
        this.refusals.refused('no login within limits.loginTimeout', address, { seconds: this.config.limits.loginTimeout });
        drop();
      },
      this.clientTable.hasAddress(key),
    );
    if (typeof ticket === 'string') this.refusals.refused(ticket, address);
    return ticket;
  }

  private acceptMux(conn: AcceptedConnection, inProcess = false): void {
    const session = new YamuxSession(conn.stream, {
      client: false,
      keepaliveIntervalMs: this.config.transport.tcpMuxKeepaliveInterval * 1000,
    });
    this.serveStreams(session, conn, inProcess);
  }

  /** Each stream of a yamux session or QUIC connection is one logical connection. */
  private serveStreams(session: AcceptedSession['session'], conn: Omit<AcceptedSession, 'session'>, inProcess = false): void {
    const bind = new BindConn(conn.remoteAddress, conn.admission, () => session.destroy(), conn.remotePort, inProcess);
    this.physical.add(bind);
    session.once('close', () => this.physical.delete(bind));
    session.on('error', () => {});
    const maxStreams = this.config.limits.preAuthStreams;
    session.on('stream', (stream: Duplex) => {
      stream.on('error', () => {});
      // stock frpc opens one stream (its control) and waits for LoginResp before any other.
      if (bind.state === BindConnState.PreAuth && ++bind.preAuthStreams > maxStreams) {
        this.refusals.refused('too many streams before login (limits.preAuthStreams)', conn.remoteAddress, { limit: maxStreams });
        session.destroy();
        return;
      }
      this.acceptLogical(stream, bind);
    });
  }

  /**
   * A connection made inside this process (the SSH gateway's clients), served
   * as a yamux session from `remoteAddress`: every rule a client on bindPort
   * meets after its TCP accept applies to it too.
   */
  acceptInProcess(stream: Duplex, remoteAddress: string): void {
    if (this.state !== ServerState.Running) {
      stream.destroy();
      return;
    }
    this.acceptMux({ stream, remoteAddress, remotePort: 0, tls: false }, true);
  }

  /** One logical connection (a yamux stream, or a whole socket without mux): route by its first message. */
  private acceptLogical(stream: Duplex, bind: BindConn): void {
    stream.on('error', () => {});
    const remote = bind.remote;
    const peer = { address: remote, port: bind.remotePort };
    readFirstMessage(stream, FIRST_MESSAGE_TIMEOUT_MS)
      .then(
        ({ msg, crypto }) => {
          switch (msg.type) {
            case 'Login':
              return serveLogin(this, stream, msg.body, bind, crypto);
            case 'NewWorkConn':
              return serveWorkConn(this, stream, msg.body, bind);
            case 'NewVisitorConn':
              return serveVisitorConn(stream, msg.body, peer, visitorLookupFor(this, bind), this.config.detailedErrorsToClient, this.log, {
                // With tcpMux a visitor stream rides a session that logged in (stock frpc);
                // a session whose only credential is a secret key stays under the pre-auth bounds.
                accepted: () => {
                  if (!this.config.transport.tcpMux) bind.trust();
                },
                // Without tcpMux a visitor comes on a connection of its own, before any login: a scan's door.
                refused: (code, fields) => {
                  if (bind.state === BindConnState.PreAuth) this.refusals.refused(`visitor connection refused (${code})`, remote, fields);
                  else this.log.warn('visitor connection refused', fields);
                },
              });
            default:
              this.refusals.refused('unexpected first message', remote, { type: msg.type });
              stream.destroy();
          }
        },
        (err: unknown) => {
          this.refusals.refused('no valid first message', remote, { reason: describeError(err) });
          stream.destroy();
        },
      )
      .catch((err: unknown) => {
        this.log.error('connection handler failed', { remote, reason: describeError(err) });
        stream.destroy();
      });
  }

  // ControlHost

  async createProxy(control: ControlSession, msg: NewProxy): Promise<ServerProxy> {
    const name = msg.proxy_name ?? '';
    const type = msg.proxy_type || 'tcp';
    if (name === '') throw new BurrowError('BURROW_PROXY_REJECTED', 'proxy name is empty');
    const full = control.proxies.size >= MAX_PROXIES_PER_CLIENT;
    if (full) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this client already has ${MAX_PROXIES_PER_CLIENT} proxies`);
    if (this.proxyNames.ownerOf(name)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}" already exists`);
    const account = control.account;
    const refusal = account && registrationRefusal(account, msg, name, type, this.proxyNames.countOf(account.name), this.config.subDomainHost);
    if (refusal) throw new BurrowError('BURROW_ACCOUNT_LIMIT', refusal);
    // Held while the listener opens, so a concurrent duplicate is refused too.
    this.proxyNames.hold(name, control);
    try {
      if (this.cluster) this.proxyNames.onRelease(name, await claimInCluster(this.cluster, control, name, type, msg, this.config.subDomainHost));
      return await this.proxies.build(control, name, type, msg);
    } catch (err) {
      this.proxyNames.release(name, control);
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

  /** The certificates of automatic HTTPS (acme.domains); undefined when off. */
  get certificates(): CertificateManager | undefined {
    return this.proxies.autoHttps?.manager;
  }

  proxyStarted(control: ControlSession, proxy: ServerProxy, msg: NewProxy): void {
    if (control.account) this.accounts.proxyStarted(control.account, proxy);
    this.emit('proxyStarted', control, proxy, msg);
  }

  releaseProxy(control: ControlSession, proxy: ServerProxy): void {
    this.accounts.proxyClosed(proxy);
    this.proxyNames.release(proxy.name, control);
    this.emit('proxyClosed', control, proxy);
  }

  natHoleMessage(control: ControlSession, msg: Message): void {
    if (!relayNatHole(this, control, msg)) this.natHole.onMessage(control, msg);
  }

  controlClosed(control: ControlSession): void {
    this.clientTable.remove(control);
    this.emit('clientOffline', control);
  }

  // LoginHost

  openControl(
    runId: string,
    login: Login,
    authSubject: string | undefined,
    remote: string,
    stream: Duplex,
    bind: BindConn,
    log: Logger,
    cipher: ControlCipher | undefined,
    account: Account | undefined,
  ): ControlSession {
    return new ControlSession(this, runId, login, authSubject, remote, stream, cipher ?? account?.cipherKey ?? this.key, bind.destroy, log, account);
  }

  clientOnline(control: ControlSession): void {
    this.emit('clientOnline', control);
  }
}
