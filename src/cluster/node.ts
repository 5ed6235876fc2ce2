import { hostname } from 'node:os';
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { ServerConfig } from '../config/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { claimKey, type ClaimKind, type ClaimValue } from './claims.js';
import { ClusterGroups, type ProxyGrouping } from './groups.js';
import type { ClaimOwner, ClusterLocal, UserLinkKind, VhostKind } from './node-api.js';
import { LeaseTable } from './leases.js';
import type { LinkedUdpPort } from './linked-udp-port.js';
import { dialLink, presentAsUser, type LinkHello, type LinkKind } from './link-handshake.js';
import { relayOverLink } from './link-relay.js';
import { LinkServer } from './link-server.js';
import { RedisLink } from './redis-link.js';
import { RemoteRoutes, type RemoteRoute } from './remote-routes.js';
import { TcpMirrors } from './tcp-mirrors.js';
import { ClusterUdpPorts } from './udp-ports.js';

export type { ClaimOwner, ClusterLocal, VhostKind } from './node-api.js';

/** What a node sees of its cluster, for the dashboard (`/api/cluster`). */
export interface ClusterView {
  node: string;
  link: string;
  redis: string;
  leaseSeconds: number;
  /** claims (names, ports, domains) this node holds */
  claimsHeld: number;
  /** tcp ports held elsewhere that this node answers too */
  mirroredPorts: number[];
  /** the same for udp */
  mirroredUdpPorts: number[];
  /** what the other nodes hold, as last read (at most 1000 entries) */
  remote: Array<{ kind: string; id: string; node: string; proxy: string; expiresInMs: number }>;
  /** groups spanning nodes: the other nodes with members of each, as last read (at most 1000) */
  groups: Array<{ kind: string; id: string; nodes: string[] }>;
}

/** Entries of the remote table the dashboard lists at most. */
const VIEW_MAX_REMOTE = 1000;

export enum ClusterState {
  Idle = 'idle',
  Running = 'running',
  Stopped = 'stopped',
}

/**
 * One server's membership of a cluster (docs/cluster.md): claims names,
 * ports and domains in Redis before the server registers them, relays users
 * of tunnels held elsewhere to their owner over the internal link, and
 * serves users other nodes relay here. Made only when `cluster.redis` is set.
 */
export class ClusterNode {
  state = ClusterState.Idle;
  readonly name: string;
  private readonly redis: RedisLink;
  private readonly leases: LeaseTable;
  readonly routes: RemoteRoutes;
  private readonly mirrors: TcpMirrors;
  /** udp remote ports: ours (also serving users relayed here) and other nodes' (relayed there) */
  readonly udp: ClusterUdpPorts;
  /** tcp remote ports this node serves, with their listeners (linked users are handed to them) */
  private readonly tcpListeners = new Map<number, Server>();
  /** sockets that came over the link: served here or not at all, never relayed again */
  private readonly linked = new WeakSet<Socket>();
  private readonly linkServer: LinkServer;
  private syncing: Promise<void> = Promise.resolve();
  private local: ClusterLocal | undefined;
  /** who registered each proxy whose name this node claimed: its ports are claimed for the same client */
  private readonly owners = new Map<string, ClaimOwner>();
  /** load-balancing groups whose members are on several nodes (groups.ts) */
  readonly groups: ClusterGroups;

  constructor(
    private readonly cfg: ServerConfig['cluster'],
    bindAddr: string,
    proxyBindAddr: string,
    bindPort: number,
    private readonly log: Logger,
  ) {
    this.name = cfg.nodeName || `${hostname()}-${bindPort}`;
    const leaseMs = cfg.leaseSeconds * 1000;
    this.redis = new RedisLink(cfg.redis, log);
    this.leases = new LeaseTable(this.redis, leaseMs, log);
    this.routes = new RemoteRoutes(this.redis, this.name, Math.floor(leaseMs / 3));
    this.linkServer = new LinkServer(
      cfg,
      bindAddr,
      {
        serves: (h) =>
          h.kind === 'tcp' ? this.tcpListeners.has(Number(h.target)) : h.kind === 'udp' ? this.udp.serves(Number(h.target)) : this.local !== undefined,
        accepted: (hello, socket) => this.acceptLink(hello, socket),
      },
      log,
    );
    const signer = { node: this.name, secret: cfg.secret, tls: cfg.tls };
    this.groups = new ClusterGroups(
      signer,
      this.redis,
      leaseMs,
      () => this.linkServer.address,
      (k, t, s, p) => this.serveHere(k, t, s, p),
      log,
    );
    this.mirrors = new TcpMirrors(
      proxyBindAddr,
      log,
      (p) => this.tcpListeners.has(p),
      (route, port, s) =>
        void (this.groups.spread('tcp', String(port), s, 0, false)?.(Buffer.alloc(0)) ?? this.relayTo(route, 'tcp', String(port), s, Buffer.alloc(0))),
    );
    // Mirrored: ports held elsewhere, and group ports with members elsewhere only.
    const sync = (): void => {
      const ports = this.routes.tcpPorts();
      for (const [port, g] of this.groups.members.tcpPorts()) ports.set(port, { holder: { n: g.n, l: g.l, r: '', u: '', p: '' }, expiresAt: g.expiresAt });
      this.syncing = this.syncing.then(() => this.mirrors.sync(ports)).catch(() => {});
    };
    this.routes.on('changed', sync);
    this.groups.members.on('changed', sync);
    this.udp = new ClusterUdpPorts(proxyBindAddr, log, {
      claim: async (name, port) => this.claimPort(this.owners.get(name) ?? { runId: '', user: '' }, name, port, 'udp'),
      release: (port) => this.leases.release(claimKey('udp', String(port))),
      dial: (route, port, src) => this.dial(route, 'udp', String(port), src),
      freed: () => void this.routes.refresh(),
    });
    this.routes.on('udpChanged', (ports: Map<number, RemoteRoute>) => {
      this.syncing = this.syncing.then(() => this.udp.sync(ports)).catch(() => {});
    });
    this.leases.on('lost', (_key: string, held: ClaimValue) => {
      if (held.r !== '') this.local?.claimLost(held.r);
    });
    // Back from an outage: see the cluster as it is now rather than at the next tick.
    this.redis.on('up', () => void Promise.all([this.routes.refresh(), this.groups.members.refresh()]));
  }

  /** The node's Redis connection, for what else the nodes share there (usage, certificates, statistics, revocations). */
  get redisLink(): RedisLink {
    return this.redis;
  }

  /** How long the node's claims live without a heartbeat. */
  get leaseMs(): number {
    return this.cfg.leaseSeconds * 1000;
  }

  get redisState(): string {
    return this.redis.state;
  }

  /** tcp ports held by other nodes that this node answers too */
  get mirroredPorts(): number[] {
    return this.mirrors.ports;
  }

  view(): ClusterView {
    const now = Date.now();
    return {
      node: this.name,
      link: this.linkServer.address,
      redis: this.redis.state,
      leaseSeconds: this.cfg.leaseSeconds,
      claimsHeld: this.leases.size + this.groups.claims.size,
      mirroredPorts: this.mirrors.ports,
      mirroredUdpPorts: this.udp.mirroredPorts,
      remote: this.routes.entries(VIEW_MAX_REMOTE).map(([key, r]) => {
        const colon = key.indexOf(':');
        return { kind: key.slice(0, colon), id: key.slice(colon + 1), node: r.holder.n, proxy: r.holder.p, expiresInMs: Math.max(0, r.expiresAt - now) };
      }),
      groups: this.groups.members.entries(VIEW_MAX_REMOTE),
    };
  }

  /** The address other nodes dial for this node's link. */
  get link(): string {
    return this.linkServer.address;
  }

  /** Joins the cluster; `identity` is the server's certificate, for the link when cluster.tls is on. */
  async start(local: ClusterLocal, identity: { cert: string | Buffer; key: string | Buffer }): Promise<void> {
    this.local = local;
    await this.linkServer.listen(identity);
    await this.redis.start();
    this.leases.start();
    this.routes.start();
    this.groups.start();
    this.state = ClusterState.Running;
    this.log.info('cluster: node started', { node: this.name, link: this.linkServer.address, redis: this.redis.state });
  }

  /** Leaves the cluster: claims released (others may take them at once), links closed. */
  async stop(): Promise<void> {
    await this.shutdown(true);
  }

  /** Leaves as a node that died would (kill -9): nothing released, leases run out. For tests and drills. */
  async kill(): Promise<void> {
    await this.shutdown(false);
  }

  private async shutdown(release: boolean): Promise<void> {
    if (this.state === ClusterState.Stopped) return;
    this.state = ClusterState.Stopped;
    this.routes.stop();
    await this.groups.stop(release);
    await this.leases.stop(release);
    this.redis.close();
    await this.mirrors.close();
    await this.udp.close();
    await this.linkServer.close();
  }

  private value(owner: ClaimOwner, proxy: string): ClaimValue {
    return { n: this.name, l: this.linkServer.address, r: owner.runId, u: owner.user, p: proxy };
  }

  /**
   * Claims proxy `name` and its vhost domains cluster-wide, before the server
   * builds it; resolves the function that releases them. Refused with the
   * words a single server uses when another node holds one of them, and with
   * BURROW_PROXY_REJECTED naming Redis when it is unreachable.
   */
  async claimProxy(owner: ClaimOwner, name: string, vhost: VhostKind | undefined, domains: readonly string[], grouping?: ProxyGrouping): Promise<() => void> {
    const taken: string[] = [];
    const leaves: Array<() => void> = [];
    const releaseAll = (): void => {
      if (this.owners.get(name) === owner) this.owners.delete(name);
      for (const key of taken.splice(0)) this.leases.release(key);
      for (const leave of leaves.splice(0)) leave();
    };
    try {
      const nameKey = claimKey('proxy', name);
      // One client's sessions share the name; anyone else's is refused as on one server.
      if (grouping?.sessions) leaves.push(await this.groups.join('proxy', name, name, grouping.sessions));
      else if (await this.claim(nameKey, owner, name)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}" already exists`);
      else taken.push(nameKey);
      this.owners.set(name, owner);
      leaves.push(this.groups.remember(name, grouping ?? {}));
      const spec = this.groups.specFor(name);
      for (const domain of vhost ? domains : []) {
        if (spec) {
          leaves.push(await this.groups.join(vhost as ClaimKind, domain, name, spec));
          continue;
        }
        const key = claimKey(vhost as ClaimKind, domain);
        const other = await this.claim(key, owner, name);
        if (other && other.u !== owner.user) {
          throw new BurrowError(
            'BURROW_PROXY_REJECTED',
            `proxy [${name}]: domain [${domain}] belongs to another user; only a member of one of its load-balancing groups, with the group key, may share it`,
          );
        }
        if (other) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy [${name}]: domain [${domain}] is already used by proxy [${other.p}] on another node`);
        taken.push(key);
      }
    } catch (err) {
      releaseAll();
      throw err;
    }
    return releaseAll;
  }

  private async claim(key: string, owner: ClaimOwner, proxy: string): Promise<ClaimValue | undefined> {
    try {
      return await this.leases.claim(key, this.value(owner, proxy));
    } catch (err) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${proxy}" cannot be registered now: ${describeError(err)}`);
    }
  }

  /**
   * Opens the tcp remote port of proxy `name` with `open` once the port is
   * claimed for this node (port 0: the port `open` picked, claimed after).
   * The claim lasts as long as the listener.
   */
  async listenTcp(name: string, port: number, open: (port: number) => Promise<Server>): Promise<Server> {
    const spec = this.groups.specFor(name);
    // Joined first; then the mirror of the port (the group's members elsewhere) gives way to the local member.
    if (spec)
      return this.groups.listenTcp(
        name,
        port,
        spec,
        (p) => this.mirrors.drop(p).then(() => open(p)),
        (server, p) => this.hold(server, p, false),
      );
    const owner = this.owners.get(name) ?? { runId: '', user: '' };
    if (port === 0) {
      for (let i = 0; i < 5; i++) {
        const server = await open(0);
        const bound = (server.address() as { port: number }).port;
        try {
          if (await this.claimPort(owner, name, bound)) return this.hold(server, bound);
        } catch (err) {
          server.close();
          throw err;
        }
        server.close(); // held by another node: try another
      }
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": no free port left in the allowed ranges`);
    }
    if (!(await this.claimPort(owner, name, port))) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": remote port ${port} is already in use`);
    try {
      // Ours now: the mirror of its previous owner's port gives way.
      await this.mirrors.drop(port);
      return this.hold(await open(port), port);
    } catch (err) {
      this.leases.release(claimKey('tcp', String(port)));
      throw err;
    }
  }

  private async claimPort(owner: ClaimOwner, name: string, port: number, kind: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
    return (await this.claim(claimKey(kind, String(port)), owner, name)) === undefined;
  }

  /** The same for a udp proxy's port; other nodes relay their users of it here (docs/cluster.md). */
  bindUdp(name: string, port: number, open: (port: number) => Promise<UdpSocket>): Promise<LinkedUdpPort> {
    return this.udp.bind(name, port, open);
  }

  /** The other node holding proxy `name` (an stcp/sudp/xtcp visitor's target), if any. */
  proxyRoute(name: string): RemoteRoute | undefined {
    return this.state === ClusterState.Running ? this.routes.find('proxy', name) : undefined;
  }

  /** A link to the node holding `route`, for `kind`/`target` on behalf of the user at `src`. */
  dial(route: RemoteRoute, kind: LinkKind, target: string, src: string): Promise<Socket> {
    return dialLink(route.holder.l, this.cfg.secret, { node: this.name, kind, target, src }, this.cfg.tls);
  }

  private hold(server: Server, port: number, exclusive = true): Server {
    this.tcpListeners.set(port, server);
    server.once('close', () => {
      if (this.tcpListeners.get(port) === server) this.tcpListeners.delete(port);
      if (exclusive) this.leases.release(claimKey('tcp', String(port)));
      // Someone else's now, perhaps (or a group's with members elsewhere): mirror it without waiting for the next refresh.
      void this.routes.refresh();
      void this.groups.members.resync();
    });
    return server;
  }

  /**
   * The vhosts' fallback: for a domain no local proxy serves, a relay to the
   * node that holds it, or undefined. A connection that came over the link is
   * never sent on again (no loops while two nodes' tables disagree).
   */
  remoteDomain(kind: VhostKind, domain: string, visitor: Socket, local = false): ((preface: Buffer) => Promise<void>) | undefined {
    if (this.state !== ClusterState.Running || this.linked.has(visitor)) return undefined;
    const route = local ? undefined : this.routes.findDomain(kind, domain);
    if (!route) return this.groups.spreadDomain(kind, domain, visitor, local, false);
    return (preface) => this.relayTo(route, kind, domain, visitor, preface);
  }

  /** Carries `visitor` to the node holding `route`, `preface` (bytes already read from it) first. */
  private async relayTo(route: RemoteRoute, kind: LinkKind, target: string, visitor: Socket, preface: Buffer): Promise<void> {
    await relayOverLink({ node: this.name, secret: this.cfg.secret, tls: this.cfg.tls }, route.holder.l, kind, target, visitor, preface).catch(
      (err: unknown) => {
        this.log.warn('cluster: user connection dropped: its owner did not answer', { kind, target, owner: route.holder.n, reason: describeError(err) });
        visitor.destroy();
      },
    );
  }

  /** A signed link from another node: a udp user, a visitor, or a user served here as if it had come to this node. */
  private acceptLink(hello: LinkHello, socket: Socket): void {
    if (hello.kind === 'udp') {
      if (!this.udp.acceptLink(Number(hello.target), socket, hello.src, hello.node)) socket.destroy();
      return;
    }
    if (hello.kind === 'visitor' || hello.kind === 'nathole') {
      if (this.local) this.local.acceptProxyLink(hello.kind, hello, socket);
      else socket.destroy();
      return;
    }
    presentAsUser(socket, hello.src);
    if (!this.serveHere(hello.kind, hello.target, socket, Buffer.alloc(0))) socket.destroy();
  }

  /** Serves `socket` here as a linked user (never relayed again), `preface` first: false when nothing here serves it. */
  private serveHere(kind: UserLinkKind, target: string, socket: Socket, preface: Buffer): boolean {
    this.linked.add(socket);
    if (preface.length > 0) socket.unshift(preface);
    if (kind !== 'tcp') return this.local?.acceptVhost(kind, socket) === true;
    const listener = this.tcpListeners.get(Number(target));
    listener?.emit('connection', socket);
    return listener !== undefined;
  }

  /** A tcp group's user on this node, `local` members here: undefined to serve it here, else its relay to another node (groups.ts). */
  spreadTcp(port: number, socket: Socket, local: number): ((preface: Buffer) => Promise<void>) | undefined {
    return this.state === ClusterState.Running ? this.groups.spread('tcp', String(port), socket, local, this.linked.has(socket)) : undefined;
  }
}
