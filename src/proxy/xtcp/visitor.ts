import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { VisitorConfig } from '../../config/types.js';
import type { YamuxSession } from '../../mux/session.js';
import { preparePunchEndpoint, type PunchEndpoint } from '../../nathole/endpoint.js';
import { punchHole } from '../../nathole/punch.js';
import { XTCP_PROTOCOL, openTunnel } from '../../nathole/tunnel.js';
import { tokenDigest } from '../../protocol/auth.js';
import { deriveCipherKey } from '../../protocol/crypto.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import type { VisitorLink } from '../client-context.js';
import { wrapPayload } from '../payload-transform.js';
import { visitedProxyName } from '../shared/visitor-conn.js';
import { listenVisitorPort } from '../shared/visitor-listener.js';
import { VisitorState, type ClientVisitor } from '../types.js';
import { newTransactionId } from './transaction-id.js';
import { realTimers, type Timers } from '../../util/timers.js';

/** The server waits 10 s for the owner; our request waits a little longer. */
const EXCHANGE_TIMEOUT_MS = 15_000;
const DEFAULT_PUNCH_MS = 5000;
/** Without a fallback, a local connection waits this long for a tunnel being punched. */
const WAIT_FOR_TUNNEL_MS = 30_000;

/** The stcp visitor named by fallbackTo, as the xtcp visitor uses it. */
export interface XtcpFallback {
  readonly name: string;
  /** serves one local connection through the server */
  handleConn(local: Duplex): void;
}

export enum TunnelState {
  None = 'none',
  Punching = 'punching',
  Ready = 'ready',
}

/**
 * The visiting side of an xtcp proxy. Local connections travel as streams
 * of a peer-to-peer tunnel to the owner, punched on demand (or kept open
 * with keepTunnelOpen). While no tunnel is ready within fallbackTimeoutMs
 * a connection goes to the stcp visitor named by fallbackTo, through the
 * server; failed punching is retried at most maxRetriesAnHour times and not
 * sooner than minRetryInterval, as frp.
 */
export class XtcpVisitor implements ClientVisitor {
  state = VisitorState.Idle;
  tunnelState = TunnelState.None;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  /** local connections served through the fallback so far */
  fallbacks = 0;
  private listener: Server | undefined;
  private tunnel: YamuxSession | undefined;
  private punching: Promise<YamuxSession> | undefined;
  private endpoint: PunchEndpoint | undefined;
  private readonly attempts: number[] = [];
  private lastFailure = 0;
  private readonly conns = new Set<Duplex>();

  constructor(
    readonly config: VisitorConfig,
    private readonly link: VisitorLink,
    private readonly fallback: () => XtcpFallback | undefined,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get port(): number {
    return (this.listener?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const { bindAddr, bindPort } = this.config;
    try {
      this.listener = await listenVisitorPort(this.config, (socket) => this.handleConn(socket));
    } catch (err) {
      this.state = VisitorState.Failed;
      throw err;
    }
    this.state = VisitorState.Running;
    this.log.info('visitor listening', { visitor: this.name, type: 'xtcp', bind: bindPort > 0 ? `${bindAddr}:${this.port}` : '(none)' });
    if (this.config.keepTunnelOpen) void this.ensureTunnel()?.catch(() => {});
  }

  handleConn(local: Duplex): void {
    if (this.state !== VisitorState.Running) {
      local.destroy();
      return;
    }
    this.conns.add(local);
    local.once('close', () => this.conns.delete(local));
    local.on('error', () => {});
    void this.serve(local);
  }

  private async serve(local: Duplex): Promise<void> {
    const fallback = this.config.fallbackTo ? this.fallback() : undefined;
    let tunnel = this.tunnel;
    if (!tunnel) {
      const attempt = this.ensureTunnel();
      const wait = fallback ? (this.config.fallbackTimeoutMs ?? 1000) : WAIT_FOR_TUNNEL_MS;
      tunnel = attempt ? await within(attempt, wait, this.timers) : undefined;
    }
    if (local.destroyed) return;
    if (!tunnel) {
      if (fallback) {
        this.fallbacks += 1;
        this.log.info('xtcp tunnel not ready, using the fallback', { visitor: this.name, fallback: fallback.name });
        this.conns.delete(local);
        fallback.handleConn(local);
        return;
      }
      this.log.warn('xtcp visitor connection dropped: no tunnel', { visitor: this.name });
      local.destroy();
      return;
    }
    let stream: Duplex;
    try {
      stream = tunnel.open();
    } catch (err) {
      this.log.warn('xtcp visitor connection dropped', { visitor: this.name, reason: describeError(err) });
      local.destroy();
      return;
    }
    const key = this.config.transport.useEncryption ? deriveCipherKey(this.config.secretKey) : undefined;
    await relay(local, wrapPayload(stream, { encryptionKey: key, compression: this.config.transport.useCompression }), { counter: this.traffic });
  }

  /** The tunnel being punched (started now if allowed), or undefined while retries are held back. */
  private ensureTunnel(): Promise<YamuxSession> | undefined {
    if (this.punching) return this.punching;
    const now = this.timers.now();
    const hour = now - 3600_000;
    while (this.attempts.length > 0 && this.attempts[0]! < hour) this.attempts.shift();
    const minGap = (this.config.minRetryInterval ?? 90) * 1000;
    if (this.lastFailure > 0 && now - this.lastFailure < minGap) return undefined;
    if (this.attempts.length >= (this.config.maxRetriesAnHour ?? 8)) return undefined;
    this.attempts.push(now);
    this.tunnelState = TunnelState.Punching;
    const attempt = this.establish().then(
      (tunnel) => {
        this.punching = undefined;
        if (this.state !== VisitorState.Running) {
          tunnel.destroy();
          throw new BurrowError('BURROW_CLOSED', 'visitor closed');
        }
        this.tunnel = tunnel;
        this.tunnelState = TunnelState.Ready;
        tunnel.once('close', () => {
          if (this.tunnel === tunnel) this.tunnel = undefined;
          this.tunnelState = TunnelState.None;
          this.log.info('xtcp tunnel closed', { visitor: this.name });
          if (this.config.keepTunnelOpen && this.state === VisitorState.Running) void this.ensureTunnel()?.catch(() => {});
        });
        return tunnel;
      },
      (err: unknown) => {
        this.punching = undefined;
        this.tunnelState = TunnelState.None;
        this.lastFailure = this.timers.now();
        this.log.warn('xtcp hole punching failed', { visitor: this.name, code: err instanceof BurrowError ? err.code : undefined, reason: describeError(err) });
        throw err;
      },
    );
    attempt.catch(() => {});
    this.punching = attempt;
    return attempt;
  }

  /** One attempt: addresses, NatHoleVisitor, the owner's addresses back, punching, report, tunnel. */
  private async establish(): Promise<YamuxSession> {
    const v = this.config;
    const { natHole } = this.link;
    const proxyName = visitedProxyName(v, this.link.user);
    const endpoint = await preparePunchEndpoint(natHole.stunServer, v.natTraversal?.disableAssistedAddrs === true, this.log);
    this.endpoint = endpoint;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const resp = await natHole.exchange(
        {
          type: 'NatHoleVisitor',
          body: {
            transaction_id: newTransactionId(),
            proxy_name: proxyName,
            protocol: XTCP_PROTOCOL,
            sign_key: tokenDigest(v.secretKey, timestamp),
            timestamp,
            mapped_addrs: endpoint.mappedAddrs,
            assisted_addrs: endpoint.assistedAddrs,
          },
        },
        EXCHANGE_TIMEOUT_MS,
      );
      if (resp.error) throw new BurrowError('BURROW_NAT_HOLE_FAILED', `the server refused: ${resp.error}`);
      const sid = resp.sid ?? '';
      let peer: Awaited<ReturnType<typeof punchHole>>;
      try {
        peer = await punchHole({
          socket: endpoint.socket,
          key: deriveCipherKey(v.secretKey),
          sid,
          transactionId: resp.transaction_id ?? '',
          candidates: [...(resp.candidate_addrs ?? []), ...(resp.assisted_addrs ?? [])],
          timeoutMs: resp.detect_behavior?.read_timeout || DEFAULT_PUNCH_MS,
        });
      } catch (err) {
        natHole.report({ sid, success: false });
        throw err;
      }
      natHole.report({ sid, success: true });
      const tunnel = await openTunnel({ socket: endpoint.socket, peer, initiator: true, secretKey: v.secretKey, sid });
      this.log.info('xtcp tunnel open', { visitor: this.name, peer: `${peer.ip}:${peer.port}`, sid });
      return tunnel;
    } catch (err) {
      endpoint.socket.close();
      throw err;
    } finally {
      this.endpoint = undefined;
    }
  }

  close(): void {
    if (this.state === VisitorState.Closed) return;
    this.state = VisitorState.Closed;
    this.listener?.close();
    this.tunnel?.destroy();
    try {
      this.endpoint?.socket.close(); // ends a punch in progress
    } catch {
      // already closed
    }
    for (const c of this.conns) c.destroy();
  }
}

/** `work`'s value if it settles within `ms`, else undefined (it keeps running). */
function within<T>(work: Promise<T>, ms: number, timers: Timers): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = timers.setTimeout(() => resolve(undefined), ms);
    work.then(
      (v) => {
        timer.close();
        resolve(v);
      },
      () => {
        timer.close();
        resolve(undefined);
      },
    );
  });
}
