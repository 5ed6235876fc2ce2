import type { Duplex } from 'node:stream';
import { writeMessage } from '../../control/message-io.js';
import { wireOf } from '../../control/wire-mark.js';
import { verifyTokenDigest } from '../../protocol/auth.js';
import { deriveCipherKey } from '../../protocol/crypto.js';
import { BURROW_FEATURES, hasBurrowFeature } from '../../protocol/burrow-features.js';
import { FRP_UDP_PACKET_SIZE } from '../../protocol/udp-packet.js';
import type { NewProxy } from '../../protocol/messages.js';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import { wrapPayload, type PayloadTransformOptions } from '../payload-transform.js';
import type { ProxyOwner, ServerProxyContext, UserConnCheck } from '../server-context.js';
import type { ServerProxy } from '../types.js';
import { WHOLE, bridgeUdpPackets } from './udp-wire-bridge.js';

/** Toward a stock frp reader the bridge cuts datagrams as frp does (its default udpPacketSize). */
const FRP_LIMITS = { packetSize: FRP_UDP_PACKET_SIZE, whole: false } as const;

export interface SecretServerProxyOptions {
  type: 'stcp' | 'sudp';
  name: string;
  /** the proxy's secret key: visitors sign with it and their hop is encrypted with it */
  sk: string;
  /** users whose visitors may connect; empty = only the owner's own user, `*` = anyone */
  allowUsers: readonly string[];
  /** the owning client's user */
  ownerUser: string;
  /** what the owning client can read beyond frp (its Login's `burrow_features`) */
  ownerFeatures: readonly string[];
  /** the proxy's own transforms on its work connections (key from the token) */
  payload: PayloadTransformOptions;
  getWorkConn(): Promise<Duplex>;
  /** the server plugins' NewUserConn check; absent when none is configured */
  admitUser?: UserConnCheck;
  logger: Logger;
}

/** What a visitor asked for its own hop (NewVisitorConn). */
export interface VisitorHop {
  useEncryption: boolean;
  useCompression: boolean;
  /** the visitor client's address, reported to the owner in StartWorkConn */
  srcAddr: string;
  /** the visitor connection's `ip:port`, for the server plugins */
  remoteAddr: string;
  /** what the visitor can read beyond frp (its NewVisitorConn's `burrow_features`), passed to the owner */
  burrowFeatures: readonly string[];
}

/**
 * Server half of `stcp` and `sudp`: no public port. Visitor connections that
 * passed the checks of src/server/visitor-conn.ts are joined to a work
 * connection of the owning client; for sudp the bytes relayed are UDPPacket
 * frames, which the server does not need to look into.
 */
export class SecretServerProxy implements ServerProxy {
  readonly type: 'stcp' | 'sudp';
  readonly name: string;
  readonly remoteAddr = '';
  readonly portsUsed = 0;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly visitors = new Set<Duplex>();
  private readonly allowed: ReadonlySet<string>;
  private skKeyCache: Buffer | undefined;
  private closed = false;

  constructor(private readonly opts: SecretServerProxyOptions) {
    this.type = opts.type;
    this.name = opts.name;
    // As frp: no list means the owner's own user only.
    this.allowed = new Set(opts.allowUsers.length > 0 ? opts.allowUsers : [opts.ownerUser]);
  }

  get activeConnections(): number {
    return this.visitors.size;
  }

  get allowUsers(): readonly string[] {
    return this.opts.allowUsers;
  }

  /** AES key of the visitor hop, derived once */
  private get skKey(): Buffer {
    return (this.skKeyCache ??= deriveCipherKey(this.opts.sk));
  }

  /**
   * What the owner can read beyond frp, for NewVisitorConnResp: the visitor
   * reaches the owner's client through this server's plain byte relay.
   */
  get ownerFeatures(): readonly string[] {
    return this.opts.ownerFeatures;
  }

  allows(user: string): boolean {
    return this.allowed.has('*') || this.allowed.has(user);
  }

  /** An empty sk: anyone can sign, so the signature proves nothing. */
  get keyless(): boolean {
    return this.opts.sk === '';
  }

  /** Constant-time check of a visitor's sign_key, md5(sk + timestamp). */
  signatureMatches(timestamp: number, signKey: string): boolean {
    return verifyTokenDigest(this.opts.sk, timestamp, signKey);
  }

  /** Joins an accepted visitor connection (NewVisitorConnResp already sent) to a work connection. */
  async serve(visitor: Duplex, hop: VisitorHop): Promise<void> {
    const log = this.opts.logger;
    if (this.closed) {
      visitor.destroy();
      return;
    }
    this.visitors.add(visitor);
    visitor.once('close', () => this.visitors.delete(visitor));
    const { admitUser } = this.opts;
    if (admitUser && !(await admitUser(hop.remoteAddr))) {
      visitor.destroy();
      return;
    }
    let work: Duplex;
    try {
      work = await this.opts.getWorkConn();
      await writeMessage(work, { type: 'StartWorkConn', body: { proxy_name: this.name, src_addr: hop.srcAddr, ...features(hop.burrowFeatures) } });
    } catch (err) {
      log.warn('visitor dropped: no work connection', { proxy: this.name, remote: hop.srcAddr, reason: describeError(err) });
      visitor.destroy();
      return;
    }
    if (visitor.destroyed) {
      work.destroy();
      return;
    }
    // The visitor's hop uses the visitor's own flags, keyed by sk; the owner's hop the proxy's, keyed by the token.
    const visitorSide = wrapPayload(visitor, { encryptionKey: hop.useEncryption ? this.skKey : undefined, compression: hop.useCompression });
    log.debug('visitor connected', { proxy: this.name, remote: hop.srcAddr });
    const workSide = wrapPayload(work, this.opts.payload);
    const visitorWire = wireOf(visitor);
    const proxyWire = wireOf(work);
    if (this.type === 'sudp' && visitorWire !== proxyWire) {
      // A stcp stream is raw bytes either way; a sudp stream is frames in each client's own framing.
      log.info('bridge mixed sudp payload framings', { proxy: this.name, proxyWire, visitorWire });
      const whole = (list: readonly string[]) => (hasBurrowFeature(list, BURROW_FEATURES.wholeDatagrams) ? WHOLE : FRP_LIMITS);
      await bridgeUdpPackets(
        { stream: visitorSide, wire: visitorWire, limits: whole(hop.burrowFeatures) },
        { stream: workSide, wire: proxyWire, limits: whole(this.opts.ownerFeatures) },
        this.traffic,
      );
      return;
    }
    await relay(visitorSide, workSide, { counter: this.traffic });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const v of this.visitors) v.destroy();
    return Promise.resolve();
  }
}

/**
 * The server half of an stcp or sudp NewProxy: no public port; visitors
 * reach it by name with the secret key (sk) and, unless `allow_users` says
 * otherwise, only from the owner's own user. An empty sk is accepted as frp
 * does; its visitors are then held to their own client's connection
 * (checkVisitorConn), since anyone can sign md5("" + time).
 */
export function createSecretServerProxy(type: 'stcp' | 'sudp', ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy {
  return new SecretServerProxy({
    type,
    name,
    sk: msg.sk ?? '',
    allowUsers: msg.allow_users ?? [],
    ownerUser: owner.user,
    ownerFeatures: owner.burrowFeatures,
    payload: ctx.payloadOptions(msg, owner),
    getWorkConn: () => owner.getWorkConn(),
    admitUser: ctx.userConnCheck(owner, name, type, msg),
    logger: owner.log,
  });
}

/**
 * `burrow_features` for a message passed on from one peer to another: only
 * the ones burrow knows, and none at all (as from a stock frp) when empty.
 */
export function features(list: readonly string[]): { burrow_features?: string[] } {
  const known = list.filter((f) => KNOWN_FEATURES.has(f));
  return known.length > 0 ? { burrow_features: [...new Set(known)] } : {};
}

const KNOWN_FEATURES: ReadonlySet<string> = new Set(Object.values(BURROW_FEATURES));
