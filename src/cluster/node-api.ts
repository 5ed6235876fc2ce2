import type { Socket } from 'node:net';
import type { LinkHello } from './link-handshake.js';

/** The kinds of vhost a node relays users of. */
export type VhostKind = 'http' | 'https' | 'tcpmux';

/** What a user connection relayed between nodes is for: a tcp port or a vhost (groups spread these). */
export type UserLinkKind = 'tcp' | VhostKind;

/** What the node asks of the server it belongs to. */
export interface ClusterLocal {
  /** serve a user connection that came over the link on this node's vhost of `kind`; false when that vhost is off */
  acceptVhost(kind: VhostKind, socket: Socket): boolean;
  /**
   * Another node took over a claim registered here for client `runId` (that
   * client logged in there, or this node was cut off from Redis for longer
   * than a lease): its session here is stale and must go.
   */
  claimLost(runId: string): void;
  /** serve a visitor's link (stcp/sudp connection, or xtcp NatHoleVisitor) for the proxy named in `hello.target` */
  acceptProxyLink(kind: 'visitor' | 'nathole', hello: LinkHello, socket: Socket): void;
}

/** Who registers a proxy: the same client (run id) may take its claims back through another node. */
export interface ClaimOwner {
  readonly runId: string;
  readonly user: string;
}
