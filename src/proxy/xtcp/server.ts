import type { Duplex } from 'node:stream';
import { verifyTokenDigest } from '../../protocol/auth.js';
import type { NewProxy } from '../../protocol/messages.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import type { ProxyOwner } from '../server-context.js';
import type { ServerProxy } from '../types.js';

export interface XtcpServerProxyOptions {
  name: string;
  sk: string;
  /** empty = the owner's own user only, `*` = anyone (as stcp) */
  allowUsers: readonly string[];
  ownerUser: string;
  /** run id of the owning client: only it may answer this proxy's hole-punching sessions */
  ownerRunId: string;
  getWorkConn(): Promise<Duplex>;
}

/**
 * Server half of `xtcp`: no port and no relayed bytes. The server only
 * introduces the visitor and the owner to each other (nat-hole-coordinator.ts);
 * their data then flows directly between them over a punched UDP path.
 */
export class XtcpServerProxy implements ServerProxy {
  readonly type = 'xtcp';
  readonly name: string;
  readonly remoteAddr = '';
  readonly portsUsed = 0;
  /** stays at zero: the server carries none of the tunnel's bytes */
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  /** hole-punching sessions being coordinated right now */
  sessions = 0;
  private readonly allowed: ReadonlySet<string>;
  private closed = false;

  constructor(private readonly opts: XtcpServerProxyOptions) {
    this.name = opts.name;
    this.allowed = new Set(opts.allowUsers.length > 0 ? opts.allowUsers : [opts.ownerUser]);
  }

  get activeConnections(): number {
    return this.sessions;
  }

  get ownerRunId(): string {
    return this.opts.ownerRunId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  allows(user: string): boolean {
    return this.allowed.has('*') || this.allowed.has(user);
  }

  signatureMatches(timestamp: number, signKey: string): boolean {
    return verifyTokenDigest(this.opts.sk, timestamp, signKey);
  }

  /** A work connection of the owner, to tell it a session's sid. */
  getWorkConn(): Promise<Duplex> {
    return this.opts.getWorkConn();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/**
 * The server half of an xtcp NewProxy: like stcp, reached by name with the
 * secret key and, unless `allow_users` says otherwise, only from the
 * owner's own user.
 */
export function createXtcpServerProxy(owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy {
  return new XtcpServerProxy({
    name,
    sk: msg.sk ?? '',
    allowUsers: msg.allow_users ?? [],
    ownerUser: owner.user,
    ownerRunId: owner.runId,
    getWorkConn: () => owner.getWorkConn(),
  });
}
