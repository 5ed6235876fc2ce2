import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';
import { type ClientAuth, createClientAuth } from '../client/auth/client-auth.js';
import { ClientSession } from '../client/client-session.js';
import { buildClientConfig, ConfigError } from '../config/load.js';
import type { ClientConfig, ServerConfig } from '../config/types.js';
import type { NewProxyResp, StartWorkConn } from '../protocol/messages.js';
import { relay } from '../relay/pipe.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { clipped } from '../util/peer-string.js';
import { withTimeout } from '../util/timeout.js';
import { flagOfKey, parseTunnelCommand, type TunnelCommand, usage } from './command-line.js';
import { ChannelStream } from './channel-stream.js';
import { InProcessLink } from './in-process-link.js';
import { TunnelRequests, type TunnelRequest } from './tunnel-requests.js';

/** After login, the `-R` forward and the command must both have arrived within this (frp: 3 s). */
const REQUEST_TIMEOUT_MS = 10_000;
/** NewProxyResp must come within this (the server opens a listener or a route). */
const REGISTER_TIMEOUT_MS = 10_000;
/** How long the ssh client gets to read the last words before the connection is closed under it. */
const END_GRACE_MS = 5000;
/** forwarded-tcpip channels open at once on one SSH connection (one per user connection). */
export const MAX_CHANNELS_PER_TUNNEL = 1024;

export enum TunnelState {
  /** SSH handshake and authentication */
  Authenticating = 'authenticating',
  /** logged in over SSH: waiting for the -R forward and the command */
  Waiting = 'waiting',
  /** the command is parsed; the in-process client logs in and registers the proxy */
  Starting = 'starting',
  /** the proxy runs; each of its user connections is a forwarded-tcpip channel */
  Running = 'running',
  /** the user was told why the tunnel ends; waiting for the ssh client to close the session */
  Ending = 'ending',
  Closed = 'closed',
}

/** What a tunnel needs from the gateway and the server it runs in. */
export interface TunnelHost {
  readonly serverConfig: ServerConfig;
  /** the port the server listens on (bindPort may be 0) */
  readonly serverPort: number;
  readonly log: Logger;
  /** hands the server end of an in-process connection to the server, as accepted from `remote` */
  enter(serverEnd: Duplex, remote: string): void;
  /** the token of a listed account (`[[users]]`), which keys its client's control cipher; undefined when the name is not listed */
  accountToken(user: string): string | undefined;
  /** why a listed account may not be used now (disabled, expired, quota used up), naming it; undefined when it may or is not listed */
  accountRefusal(user: string): string | undefined;
}

/**
 * One SSH connection of the gateway, from authentication to close, as frp's
 * tunnel server: it waits for the `-R` forward and the exec command, runs an
 * in-process client that logs in to this server and registers the proxy the
 * command describes, tells the user on the session channel, and answers each
 * user connection with a forwarded-tcpip channel back to the ssh client,
 * which connects it to its local target. The SSH connection closing removes
 * the proxy; the proxy's client closing ends the SSH connection.
 */
export class SshTunnel {
  state = TunnelState.Authenticating;
  private readonly requests: TunnelRequests;
  private session: ClientSession | undefined;
  /** who the tunnel runs as, and whether that was a listed account: told why when the server ends it */
  private user = '';
  private asAccount = false;
  private channels = 0;

  constructor(
    private readonly conn: Connection,
    /** the ssh client's IP address */
    readonly remote: string,
    private readonly host: TunnelHost,
  ) {
    this.requests = new TunnelRequests(conn);
  }

  /**
   * The whole exchange after authentication, top to bottom. `keyUser` is the
   * comment of the authorized key that logged in (undefined without
   * authorizedKeysFile); resolves once the proxy runs or the tunnel ended.
   */
  async run(keyUser: string | undefined): Promise<void> {
    if (this.closed) return;
    this.state = TunnelState.Waiting;
    let request: TunnelRequest;
    try {
      request = await withTimeout(this.requests.ready, REQUEST_TIMEOUT_MS, 'waiting for the -R forward and the command');
    } catch (err) {
      return this.finish(`${describeError(err)}: run ssh with -R and a command, e.g. "tcp --remote_port 9090"\n\n${usage()}`, 1);
    }
    if (this.closed) return;
    this.state = TunnelState.Starting;
    let command: TunnelCommand;
    try {
      const parsed = parseTunnelCommand(request.command);
      if (request.shell) return this.finish(`no command given: the proxy type and its flags are the ssh command\n\n${usage()}`, 1);
      if (parsed.kind === 'help') return this.finish(parsed.text, 0);
      command = parsed.command;
    } catch (err) {
      return this.finish(describeError(err), 1);
    }
    // As frp's AlwaysAuthPass: a user let in by an authorized key is not asked for credentials again
    // (whatever auth.method the server uses); everyone else logs in with the token of their command.
    // Unlike frp, a key without a comment does not let --user name a listed account: that needs the account's own token.
    const keyed = keyUser !== undefined && (keyUser !== '' || this.host.accountToken(command.user) === undefined);
    let config: ClientConfig;
    try {
      config = this.clientConfig(command, keyed ? keyUser : undefined);
    } catch (err) {
      return this.finish(err instanceof ConfigError ? err.problems.join('\n') : describeError(err), 1);
    }
    const log = this.host.log.child({ remote: this.remote, proxy: command.proxy.name });
    const auth = { ...bindAuth(createClientAuth(config)), alwaysAuthPass: keyed };
    const session = new ClientSession(config, auth, new InProcessLink((end) => this.host.enter(end, this.remote)), log);
    this.session = session;
    session.on('workConn', (_name, work, start) => this.openChannel(work, start, request));
    session.once('close', (reason) => this.sessionClosed(reason));
    this.user = config.user;
    this.asAccount = this.host.accountToken(config.user) !== undefined;
    let resp: NewProxyResp;
    try {
      await session.start('');
      if (this.closed) return;
      const answered = new Promise<NewProxyResp>((resolve) => session.on('proxyResp', (name, r) => name === command.proxy.name && resolve(r)));
      session.registerProxy(config.proxies[0] as ClientConfig['proxies'][number]);
      resp = await withTimeout(answered, REGISTER_TIMEOUT_MS, 'registering the proxy');
    } catch (err) {
      return this.finish(describeError(err), 1);
    }
    if (this.closed) return;
    if (resp.error) return this.finish(resp.error, 1);
    this.state = TunnelState.Running;
    log.info('ssh tunnel started', { type: command.type, user: config.user, remoteAddr: resp.remote_addr ?? '' });
    this.requests.write(successInfo(config.user, command, resp.remote_addr ?? ''));
  }

  /** read through a getter: close() may run while run() awaits */
  private get closed(): boolean {
    return this.state === TunnelState.Closed;
  }

  /** The SSH connection closed (or the gateway is stopping): the proxy goes with it. Idempotent. */
  close(): void {
    if (this.state === TunnelState.Closed) return;
    const wasRunning = this.state === TunnelState.Running;
    this.state = TunnelState.Closed;
    this.requests.cancel();
    this.session?.close('ssh connection closed');
    this.conn.end();
    if (wasRunning) this.host.log.info('ssh tunnel closed', { remote: this.remote });
  }

  /** The client frp's gateway would build from the command line; `keyUser` when an authorized key let the user in. */
  private clientConfig(command: TunnelCommand, keyUser: string | undefined): ClientConfig {
    const server = this.host.serverConfig;
    const user = keyUser || command.user;
    return buildClientConfig(
      {
        serverAddr: server.bindAddr,
        serverPort: this.host.serverPort,
        // As frp: the authorized key's comment names the user, else --user.
        user,
        clientID: command.clientID,
        auth: {
          // As frp's AlwaysAuthPass: a user who logged in with an authorized key needs no token; the
          // in-process client then signs with the server's own, so every scope it checks passes. A listed
          // account's control is keyed by its own token (as its frpc's would be), so the client uses that.
          token: keyUser === undefined ? command.token : (this.host.accountToken(user) ?? server.auth.token),
          additionalScopes: [...server.auth.additionalScopes],
        },
        // A server that drops silent controls (tcpMux off: heartbeatTimeout 90 s) gets pings in time;
        // the server end is in this process, so no answer is waited for.
        transport: { heartbeatInterval: heartbeatFor(server.transport.heartbeatTimeout), heartbeatTimeout: -1 },
        // The local side is the ssh client's -R target; this address is never dialled.
        proxies: [{ ...command.proxy, localIP: '127.0.0.1', localPort: 1 }],
      },
      'ssh command',
      { translatePath: (path) => flagOfKey(command.type, path) },
    );
  }

  /** One user connection: a forwarded-tcpip channel to the ssh client, then bytes both ways. */
  private openChannel(work: Duplex, start: StartWorkConn, request: TunnelRequest): void {
    if (this.state !== TunnelState.Running || this.channels >= MAX_CHANNELS_PER_TUNNEL) {
      work.destroy();
      return;
    }
    this.channels += 1;
    const { address, port } = request.forward;
    // As OpenSSH expects, the forward's own address and port; the origin is the user's address when known.
    const originAddr = start.src_addr || address;
    const originPort = start.src_port || port;
    this.conn.forwardOut(address, port, originAddr, originPort, (err, channel) => {
      if (err || this.state !== TunnelState.Running) {
        this.channels -= 1;
        if (err) this.host.log.debug('ssh client refused a forwarded channel', { remote: this.remote, reason: describeError(err) });
        channel?.destroy();
        work.destroy();
        return;
      }
      void relay(work, new ChannelStream(channel)).finally(() => {
        this.channels -= 1;
      });
    });
  }

  private sessionClosed(reason: string): void {
    if (this.state !== TunnelState.Running) return;
    this.host.log.info('ssh tunnel ended by the server', { remote: this.remote, reason: clipped(reason) });
    // The server closes an account's clients without a word on the wire (a reload): the account's standing says why.
    this.finish(`the tunnel ended: ${this.accountStanding() ?? reason}`, 1);
  }

  private accountStanding(): string | undefined {
    const listed = this.host.accountToken(this.user) !== undefined;
    if (this.asAccount && !listed) return `user [${this.user}] is no longer an account on this server`;
    if (!this.asAccount && listed) return `user [${this.user}] is now an account on this server; connect again to use it`;
    return this.asAccount ? this.host.accountRefusal(this.user) : undefined;
  }

  /** Tells the user `text` on the session channel (when there is one), then closes the SSH connection. */
  private finish(text: string, exitCode: number): void {
    if (this.state === TunnelState.Closed || this.state === TunnelState.Ending) return;
    if (exitCode !== 0) this.host.log.info('ssh tunnel refused', { remote: this.remote, reason: clipped(text.split('\n')[0] ?? '') });
    this.state = TunnelState.Ending;
    // The proxy goes now; the SSH connection once the client has read why.
    this.session?.close('ssh tunnel ending');
    void this.requests.endSession(text, exitCode, END_GRACE_MS).then(() => this.close());
  }
}

/** Seconds between pings so that a server expecting one every `timeout` seconds gets three; -1 = none needed. */
function heartbeatFor(timeout: number): number {
  return timeout > 0 ? Math.max(1, Math.min(30, Math.floor(timeout / 3))) : -1;
}

/** What frp's gateway prints once the proxy runs (scripts read these lines). */
function successInfo(user: string, command: TunnelCommand, remoteAddr: string): string {
  return [
    '',
    'frp (via SSH) (Ctrl+C to quit)',
    '',
    `User: ${user}`,
    `ProxyName: ${command.proxy.name}`,
    `Type: ${command.type}`,
    `RemoteAddress: ${remoteAddr}`,
    '',
  ].join('\n');
}

/** The three calls of a ClientAuth, bound to it, so the object can be extended by spreading. */
function bindAuth(auth: ClientAuth): ClientAuth {
  return { login: () => auth.login(), ping: () => auth.ping(), newWorkConn: () => auth.newWorkConn() };
}
