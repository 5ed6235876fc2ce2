import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthContext, Connection } from 'ssh2';
import type { ServerConfig } from '../config/types.js';
import type { BurrowServer } from '../server/server.js';
import { addressKey, visitorAddress } from '../util/address.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { type AuthorizedKey, AuthorizedKeys } from './authorized-keys.js';
import { type HostKey, loadOrCreateHostKey } from './host-key.js';
import { SshTunnel, type TunnelHost } from './tunnel.js';

/** From TCP accept to a successful SSH login (handshake included). */
const AUTH_TIMEOUT_MS = 10_000;
/** Authentication requests one connection may make (OpenSSH's MaxAuthTries is 6; clients try each key). */
const MAX_AUTH_ATTEMPTS = 20;
/** Open SSH connections per source address (IPv6 per /64), tunnels and not-yet-logged-in together. */
export const MAX_CONNECTIONS_PER_ADDRESS = 32;
/** Open SSH connections in all. */
const MAX_CONNECTIONS_TOTAL = 1024;
/** The ssh client must answer a keepalive within this many rounds of 30 s, or its tunnel is closed. */
const KEEPALIVE_INTERVAL_MS = 30_000;
const KEEPALIVE_COUNT_MAX = 3;

export enum GatewayState {
  Idle = 'idle',
  Running = 'running',
  Stopped = 'stopped',
}

/** One accepted TCP connection, found again by its peer's address and port when ssh2 reports it. */
interface Accepted {
  socket: Socket;
  key: string;
  authTimer: NodeJS.Timeout;
  tunnel?: SshTunnel;
}

/**
 * frps's SSH tunnel gateway (`sshTunnelGateway.*`): an SSH server on its own
 * port where `ssh -R :80:127.0.0.1:8080 v0@server -p 2200 tcp --remote_port
 * 9090` runs a proxy. Logins: with `authorizedKeysFile`, a key listed there
 * (its comment names the user); without it, anyone, and the command's
 * `--token` is checked by the server's login as any client's token is.
 */
export class SshGateway {
  state = GatewayState.Idle;
  private listener: NetServer | undefined;
  private readonly accepted = new Map<string, Accepted>();
  private readonly perAddress = new Map<string, number>();
  private readonly authorizedKeys: AuthorizedKeys | undefined;
  private readonly host: TunnelHost;
  private readonly log: Logger;
  private readonly hostKey: HostKey;

  constructor(
    private readonly server: BurrowServer,
    log: Logger,
  ) {
    this.log = log.child({ part: 'ssh-gateway' });
    // Here, not in start(): a bad or unwritable key stops `frps` before the server opens any port.
    this.hostKey = loadOrCreateHostKey(this.settings);
    const file = this.settings.authorizedKeysFile;
    this.authorizedKeys = file === '' ? undefined : new AuthorizedKeys(file, this.log);
    this.host = {
      serverConfig: server.config,
      get serverPort() {
        return server.port;
      },
      log: this.log,
      enter: (end: Duplex, remote: string) => server.acceptInProcess(end, remote),
      // Asked at each login: the accounts change on reload.
      accountToken: (user: string) => server.accounts.find(user)?.token,
      accountRefusal: (user: string) => {
        const account = server.accounts.find(user);
        return account && server.accounts.loginRefusal(account);
      },
    };
  }

  private get settings(): ServerConfig['sshTunnelGateway'] {
    return this.server.config.sshTunnelGateway;
  }

  get port(): number {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** SSH connections open now (tunnels and logins under way). */
  get connectionCount(): number {
    return this.accepted.size;
  }

  async start(): Promise<void> {
    if (this.state !== GatewayState.Idle) throw new BurrowError('BURROW_CLOSED', `ssh gateway is ${this.state}`);
    const hostKey = this.hostKey;
    const ssh = new ssh2.Server({ hostKeys: [hostKey.key], keepaliveInterval: KEEPALIVE_INTERVAL_MS, keepaliveCountMax: KEEPALIVE_COUNT_MAX }, (conn, info) =>
      this.onConnection(conn, info.ip, info.port),
    );
    ssh.on('error', () => {});
    const listener = createServer((socket) => this.accept(socket, ssh));
    const host = this.server.config.bindAddr;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err) =>
        reject(new BurrowError('BURROW_LISTEN_FAILED', `sshTunnelGateway.bindPort: cannot listen on ${host}:${this.settings.bindPort}: ${describeError(err)}`)),
      );
      listener.listen(this.settings.bindPort, host, () => resolve());
    });
    listener.on('error', (err) => this.log.error('ssh gateway listener failed', { reason: describeError(err) }));
    this.listener = listener;
    this.state = GatewayState.Running;
    this.log.info('ssh tunnel gateway listening', {
      addr: `${host}:${this.port}`,
      hostKey: hostKey.fingerprint,
      keyFrom: hostKey.source,
      logins: this.authorizedKeys ? 'authorized keys' : 'anyone (the command needs --token)',
    });
  }

  /** Closes the port and every SSH connection; their proxies go with them. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === GatewayState.Stopped) return;
    this.state = GatewayState.Stopped;
    for (const a of [...this.accepted.values()]) {
      a.tunnel?.close();
      a.socket.destroy();
    }
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket, ssh: InstanceType<typeof ssh2.Server>): void {
    socket.on('error', () => {});
    const remote = visitorAddress(socket.remoteAddress);
    const addressCount = this.perAddress.get(addressKey(remote)) ?? 0;
    if (this.state !== GatewayState.Running || this.accepted.size >= MAX_CONNECTIONS_TOTAL || addressCount >= MAX_CONNECTIONS_PER_ADDRESS) {
      this.server.refusals.refused('ssh gateway: too many connections', remote, { limit: MAX_CONNECTIONS_PER_ADDRESS });
      socket.destroy();
      return;
    }
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const entry: Accepted = {
      socket,
      key,
      authTimer: setTimeout(() => {
        this.server.refusals.refused('ssh gateway: no login within 10 s', remote);
        socket.destroy();
      }, AUTH_TIMEOUT_MS),
    };
    this.accepted.set(key, entry);
    this.perAddress.set(addressKey(remote), addressCount + 1);
    socket.once('close', () => {
      clearTimeout(entry.authTimer);
      entry.tunnel?.close();
      this.accepted.delete(key);
      const left = (this.perAddress.get(addressKey(remote)) ?? 1) - 1;
      if (left > 0) this.perAddress.set(addressKey(remote), left);
      else this.perAddress.delete(addressKey(remote));
    });
    ssh.injectSocket(socket);
  }

  /** ssh2 has read the client's version line: authentication, then the tunnel. */
  private onConnection(conn: Connection, ip: string, port: number): void {
    conn.on('error', () => {});
    const entry = this.accepted.get(`${ip}|${port}`);
    if (!entry) {
      conn.end();
      return;
    }
    const remote = visitorAddress(ip);
    const tunnel = new SshTunnel(conn, remote, this.host);
    entry.tunnel = tunnel;
    let attempts = 0;
    let keyUser: string | undefined;
    conn.on('authentication', (ctx) => {
      attempts += 1;
      if (attempts > MAX_AUTH_ATTEMPTS) {
        ctx.reject();
        entry.socket.destroy();
        return;
      }
      const verdict = this.authenticate(ctx, remote);
      if (verdict === false) return ctx.reject(['publickey']);
      // Before accept(): ssh2 emits 'ready' from inside it.
      if (verdict !== true) keyUser = verdict.user;
      ctx.accept();
    });
    conn.once('ready', () => {
      clearTimeout(entry.authTimer);
      tunnel.run(keyUser).catch((err: unknown) => {
        this.log.error('ssh tunnel failed', { remote, reason: describeError(err) });
        tunnel.close();
      });
    });
  }

  /**
   * Judges one authentication request: false to refuse it; true to accept
   * without a key (no authorizedKeysFile) or to tell a client probing a
   * listed key that it will do (it signs and asks again); the key's entry
   * when a listed key's signature checks out.
   */
  private authenticate(ctx: AuthContext, remote: string): AuthorizedKey | boolean {
    // As frp without authorizedKeysFile: no SSH login; the server's login checks the command's --token.
    if (!this.authorizedKeys) return true;
    if (ctx.method !== 'publickey') return false;
    let found: AuthorizedKey | undefined;
    try {
      found = this.authorizedKeys.find(ctx.key.data);
    } catch (err) {
      this.log.error('ssh login refused: the authorized keys cannot be read', { remote, reason: describeError(err) });
      return false;
    }
    if (!found) {
      this.server.refusals.refused('ssh gateway: unknown public key', remote, { algo: ctx.key.algo });
      return false;
    }
    if (ctx.signature === undefined || ctx.blob === undefined) return true;
    if (found.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
      this.server.refusals.refused('ssh gateway: bad public key signature', remote);
      return false;
    }
    return found;
  }
}
