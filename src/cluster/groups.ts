import type { Server, Socket } from 'node:net';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { ClaimKind } from './claims.js';
import { GroupClaims, groupRefusalError, type GroupSpec } from './group-claims.js';
import { GroupMembers, type GroupNode } from './group-members.js';
import type { UserLinkKind } from './node-api.js';
import { relayOverLink, type LinkSigner } from './link-relay.js';
import type { RedisLink } from './redis-link.js';

/** How a proxy takes part in a group spanning nodes: its `loadBalancer.group`, and/or the implicit group of its client's sessions. */
export interface ProxyGrouping {
  /** `loadBalancer.group` with its key: shares the proxy's port or domains */
  readonly lb?: GroupSpec;
  /** the sessions of one client (`serverAddrs`): share the proxy's name, and its port or domains when `lb` is absent */
  readonly sessions?: GroupSpec;
}

/** Serves `socket` here as a connection relayed from another node would be (never spread again); false when nothing here serves it. */
export type ServeHere = (kind: UserLinkKind, target: string, socket: Socket, preface: Buffer) => boolean;

/**
 * The load-balancing groups of a cluster (docs/cluster.md, "Groups across
 * nodes"): claims shared by members on several nodes, the table of the
 * other nodes' members, and the spread of user connections over them.
 *
 * Balancing: round robin over slots, one per local member and one per other
 * node with members (that node then rotates over its own), with no local
 * preference, so every member gets users whichever node they reach. An
 * implicit group of one client's sessions keeps users on the local member
 * (the same service behind the same client: a hop would buy nothing); nodes
 * without a member spread over the sessions' nodes. A node whose link does
 * not answer is skipped and the next slot tried, so a dead node costs no user
 * while its entry waits out its lease.
 */
export class ClusterGroups {
  readonly claims: GroupClaims;
  readonly members: GroupMembers;
  /** each proxy's grouping, from its registration until it goes */
  private readonly byProxy = new Map<string, ProxyGrouping>();

  constructor(
    private readonly signer: LinkSigner,
    redis: RedisLink,
    leaseMs: number,
    link: () => string,
    private readonly serveHere: ServeHere,
    private readonly log: Logger,
  ) {
    this.claims = new GroupClaims(redis, signer.secret, () => ({ n: signer.node, l: link() }), leaseMs, log);
    this.members = new GroupMembers(redis, signer.node, Math.floor(leaseMs / 3), leaseMs);
  }

  start(): void {
    this.claims.start();
    this.members.start();
  }

  async stop(release: boolean): Promise<void> {
    this.members.stop();
    await this.claims.stop(release);
  }

  /** The group a port or domain of proxy `name` joins, if any. */
  specFor(name: string): GroupSpec | undefined {
    const g = this.byProxy.get(name);
    return g?.lb ?? g?.sessions;
  }

  /** Joins `kind`/`id` for proxy `name` under `spec`; resolves the leave. Refused with a single server's words. */
  async join(kind: ClaimKind, id: string, name: string, spec: GroupSpec): Promise<() => void> {
    let refusal: Awaited<ReturnType<GroupClaims['join']>>;
    try {
      refusal = await this.claims.join(kind, id, spec);
    } catch (err) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}" cannot be registered now: ${describeError(err)}`);
    }
    if (refusal) throw groupRefusalError(kind, id, name, spec, refusal);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.claims.leave(kind, id);
    };
  }

  /** Remembers proxy `name`'s grouping until the returned function runs. */
  remember(name: string, grouping: ProxyGrouping): () => void {
    this.byProxy.set(name, grouping);
    return () => {
      if (this.byProxy.get(name) === grouping) this.byProxy.delete(name);
    };
  }

  /** Opens a grouped proxy's tcp port once its group claim is joined; the claim is left when the listener closes. */
  async listenTcp(
    name: string,
    port: number,
    spec: GroupSpec,
    open: (port: number) => Promise<Server>,
    hold: (server: Server, port: number) => Server,
  ): Promise<Server> {
    if (port === 0) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": a group spanning the nodes of a cluster needs a fixed remotePort`);
    const leave = await this.join('tcp', String(port), name, spec);
    try {
      const server = hold(await open(port), port);
      server.once('close', leave);
      return server;
    } catch (err) {
      leave();
      throw err;
    }
  }

  /**
   * Where a user connection of group claim `kind`/`id` goes: undefined to
   * serve it here (a local member's turn, an implicit group, or a
   * connection another node already spread), else the relay to another
   * node's members, which falls back to the next node and then to this one.
   */
  spread(kind: UserLinkKind, id: string, visitor: Socket, local: number, linked: boolean): ((preface: Buffer) => Promise<void>) | undefined {
    if (linked || (local > 0 && this.claims.isImplicit(kind, id))) return undefined;
    const first = this.members.pick(kind, id, local);
    if (!first) return undefined;
    return (preface) => this.relayAny(kind, id, first, visitor, preface, local > 0);
  }

  /** The vhosts' form: the group claim a name falls under on this vhost, then as `spread`. */
  spreadDomain(
    kind: 'http' | 'https' | 'tcpmux',
    domain: string,
    visitor: Socket,
    local: boolean,
    linked: boolean,
  ): ((preface: Buffer) => Promise<void>) | undefined {
    const id = this.members.domainId(kind, domain);
    return id === undefined ? undefined : this.spread(kind, id, visitor, local ? 1 : 0, linked);
  }

  private async relayAny(kind: UserLinkKind, id: string, first: GroupNode, visitor: Socket, preface: Buffer, hasLocal: boolean): Promise<void> {
    const tried = new Set<string>();
    for (let next: GroupNode | undefined = first; next && !visitor.destroyed; next = this.members.nodes(kind, id).find((g) => !tried.has(g.l))) {
      tried.add(next.l);
      try {
        await relayOverLink(this.signer, next.l, kind, id, visitor, preface);
        return;
      } catch (err) {
        this.log.warn('cluster: a group member node did not answer; trying the next', { kind, target: id, node: next.n, reason: describeError(err) });
        this.members.suspect(next);
      }
    }
    if (visitor.destroyed) return;
    if (!(hasLocal && this.serveHere(kind, id, visitor, preface))) visitor.destroy();
  }
}
