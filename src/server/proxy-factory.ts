import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/types.js';
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { NewProxy } from '../protocol/messages.js';
import type { PayloadTransformOptions } from '../proxy/payload-transform.js';
import { serverHalfOf } from '../proxy/server-registry.js';
import type { AddressCheck, ProxyOwner, PublicUdpPort, ServerProxyContext, UserConnCheck, VhostRoutes } from '../proxy/server-context.js';
import { IpRules } from '../util/ip-rules.js';
import { TcpGroups } from '../proxy/tcp/group.js';
import type { ServerProxy } from '../proxy/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import { bandwidthBytes } from '../protocol/bandwidth-quantity.js';
import { BandwidthLimiter } from '../relay/bandwidth-limit.js';
import type { Logger } from '../util/logger.js';
import { DomainOwners } from '../vhost/domain-owners.js';
import type { ConnectionRoute, HttpRoute } from '../vhost/routes.js';
import type { ControlSession } from './control-session.js';
import type { ManagePlugins } from './manage-plugins/manager.js';
import { accountPorts, bindProxyUdpPort, listenProxyPort } from './port-policy.js';
import { VhostConnectionGate } from './vhost-gate.js';
import { VhostHttpServer } from './vhost-http.js';
import { createSsoGate } from './sso/sso-gate.js';
import { VhostHttpsServer } from './vhost-https.js';
import { VhostTcpmuxServer } from './vhost-tcpmux.js';
import { sharedVhosts } from './port-sharing.js';
import { createAutoHttps, type AutoHttps } from './auto-https.js';
import { proxyDomains } from '../vhost/domains.js';
import type { Timers } from '../util/timers.js';
import type { ClusterNode, VhostKind } from '../cluster/node.js';
import { ClusterAcme } from '../cluster/shared-acme.js';
import type { RemoteDomains } from './vhost-server.js';

/**
 * Builds the public half of each proxy type from its NewProxy (through the
 * registry in src/proxy/server-registry.ts), and owns what those halves share: the
 * vhost listeners (http, https, tcpmux) and the tcp load-balancing groups.
 * The server keeps the names and limits; this keeps the ports.
 */
export class ProxyFactory implements ServerProxyContext {
  private vhostHttp: VhostHttpServer | undefined;
  private vhostHttps: VhostHttpsServer | undefined;
  private vhostTcpmux: VhostTcpmuxServer | undefined;
  readonly tcpGroups: TcpGroups;
  /** automatic HTTPS (acme.domains); undefined when off */
  readonly autoHttps: AutoHttps | undefined;
  /** the server-wide allowIPs/denyIPs (checked at load) */
  private readonly serverIpRules: IpRules | undefined;
  /** user connections and datagrams closed or dropped by IP rules, for the dashboard */
  refusedByIpRules = 0;

  constructor(
    private readonly config: ServerConfig,
    /** the cipher key derived from the token, for proxies with useEncryption */
    private readonly key: Buffer,
    private readonly log: Logger,
    private readonly plugins: ManagePlugins,
    /** the clock of the certificate renewals (tests drive it) */
    timers?: Timers,
    /** the cluster this server belongs to: ports are claimed there before they open, vhosts relay domains held elsewhere */
    private readonly cluster?: ClusterNode,
  ) {
    this.serverIpRules = IpRules.from(config.allowIPs, config.denyIPs);
    this.tcpGroups = new TcpGroups(cluster ? (port, socket, local) => cluster.spreadTcp(port, socket, local) : undefined);
    const sharedAcme = cluster && new ClusterAcme(cluster.redisLink, cluster.name);
    this.autoHttps = createAutoHttps(config, () => this.vhostHttp?.router, log.child({ part: 'acme' }), timers, sharedAcme);
  }

  /** Opens the vhost ports the config asks for (frp: 0 = off); one equal to bindPort takes its visitors from there instead. */
  async openVhosts(): Promise<void> {
    const shared = sharedVhosts(this.config);
    const limits = this.config.limits;
    const gate = new VhostConnectionGate({ perAddress: limits.vhostConnsPerIP, total: limits.vhostConnsTotal });
    const owners = new DomainOwners();
    const headerTimeoutMs = limits.vhostHeaderTimeout * 1000;
    const idleTimeoutMs = limits.vhostIdleTimeout * 1000;
    if (this.config.vhostHTTPPort > 0) {
      const vhost = new VhostHttpServer({
        host: this.config.proxyBindAddr,
        port: this.config.vhostHTTPPort,
        responseTimeoutSec: this.config.vhostHTTPTimeout,
        custom404Page: this.config.custom404Page ? readFileSync(this.config.custom404Page) : undefined,
        logger: this.log.child({ vhost: 'http' }),
        gate,
        owners,
        remote: this.remote('http'),
        requestHeadTimeoutMs: headerTimeoutMs,
        idleTimeoutMs,
        ...(this.autoHttps ? { acme: this.autoHttps.httpHooks } : {}),
        sso: createSsoGate(this.config, this.log.child({ vhost: 'http' })),
      });
      this.vhostHttp = vhost;
      if (shared.http) vhost.share(this.config.bindPort);
      else await vhost.listen();
    }
    if (this.config.vhostHTTPSPort > 0) {
      const vhost = new VhostHttpsServer({
        host: this.config.proxyBindAddr,
        port: this.config.vhostHTTPSPort,
        logger: this.log.child({ vhost: 'https' }),
        gate,
        owners,
        remote: this.remote('https'),
        helloTimeoutMs: headerTimeoutMs,
        lingerMs: idleTimeoutMs,
        ...(this.autoHttps && this.vhostHttp
          ? { termination: this.autoHttps.termination((tls) => this.vhostHttp?.serveTerminated(tls) ?? Promise.resolve()) }
          : {}),
      });
      this.vhostHttps = vhost;
      if (shared.https) vhost.share(this.config.bindPort);
      else await vhost.listen();
    }
    if (this.config.tcpmuxHTTPConnectPort > 0) {
      const vhost = new VhostTcpmuxServer({
        host: this.config.proxyBindAddr,
        port: this.config.tcpmuxHTTPConnectPort,
        passthrough: this.config.tcpmuxPassthrough,
        logger: this.log.child({ vhost: 'tcpmux' }),
        gate,
        owners,
        remote: this.remote('tcpmux'),
        connectTimeoutMs: headerTimeoutMs,
        lingerMs: idleTimeoutMs,
      });
      this.vhostTcpmux = vhost;
      await vhost.listen();
    }
    this.autoHttps?.manager.start();
  }

  async close(): Promise<void> {
    this.autoHttps?.manager.stop();
    await this.vhostHttp?.close();
    await this.vhostHttps?.close();
    await this.vhostTcpmux?.close();
  }

  /** A user connection another node of the cluster relayed here for vhost `kind`; false when that vhost is off. */
  acceptLinked(kind: VhostKind, socket: Socket): boolean {
    const vhost = kind === 'http' ? this.vhostHttp : kind === 'https' ? this.vhostHttps : this.vhostTcpmux;
    vhost?.accept(socket);
    return vhost !== undefined;
  }

  /** Where a vhost sends a visitor for a domain no proxy here serves: the node holding it, if any. */
  private remote(kind: VhostKind): RemoteDomains | undefined {
    const cluster = this.cluster;
    return cluster ? (domain, visitor, local) => cluster.remoteDomain(kind, domain, visitor, local) : undefined;
  }

  /** A visitor of a vhost that shares the bind port, handed over by its demultiplexer. */
  acceptShared(kind: 'http' | 'https', socket: Socket): void {
    const vhost = kind === 'http' ? this.vhostHttp : this.vhostHttps;
    // Before openVhosts has run (the bind port opens first) there is nobody to serve it.
    if (vhost) vhost.accept(socket);
    else socket.destroy();
  }

  /** Visitors' connections open on the vhost ports. */
  get connectionCount(): number {
    return (this.vhostHttp?.connectionCount ?? 0) + (this.vhostHttps?.connectionCount ?? 0) + (this.vhostTcpmux?.connectionCount ?? 0);
  }

  /** The public half of proxy `name` of `type`; refused with BURROW_PROXY_REJECTED and the reason. */
  async build(control: ControlSession, name: string, type: string, msg: NewProxy): Promise<ServerProxy> {
    const serverHalf = serverHalfOf(type);
    if (!serverHalf) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": type "${type}" is not supported by this server yet`);
    const proxy = await serverHalf(this, control, name, msg);
    // Never awaited: a registration does not wait for a CA; the name is served over plain HTTP meanwhile.
    if (type === 'http' && this.autoHttps) {
      for (const domain of proxyDomains({ customDomains: msg.custom_domains, subdomain: msg.subdomain }, this.config.subDomainHost))
        this.autoHttps.manager.want(domain);
    }
    return proxy;
  }

  // ServerProxyContext

  get subDomainHost(): string {
    return this.config.subDomainHost;
  }

  get maxPortsPerClient(): number {
    return this.config.maxPortsPerClient;
  }

  get udpPacketSize(): number {
    return this.config.udpPacketSize;
  }

  get httpVhost(): VhostRoutes<HttpRoute> | undefined {
    return this.vhostHttp;
  }

  get httpsVhost(): VhostRoutes<ConnectionRoute> | undefined {
    return this.vhostHttps;
  }

  get tcpmuxVhost(): VhostRoutes<ConnectionRoute> | undefined {
    return this.vhostTcpmux;
  }

  listenProxyPort(name: string, port: number, owner?: ProxyOwner): Promise<Server> {
    const open = (p: number): Promise<Server> =>
      listenProxyPort(name, this.config.proxyBindAddr, p, accountPorts(this.config.allowPorts, owner?.account?.allowPorts));
    return this.cluster ? this.cluster.listenTcp(name, port, open) : open(port);
  }

  bindProxyUdpPort(name: string, port: number, owner?: ProxyOwner): Promise<PublicUdpPort> {
    const open = (p: number): Promise<UdpSocket> =>
      bindProxyUdpPort(name, this.config.proxyBindAddr, p, accountPorts(this.config.allowPorts, owner?.account?.allowPorts));
    return this.cluster ? this.cluster.bindUdp(name, port, open) : open(port);
  }

  /**
   * The per-proxy transforms a NewProxy asks for on its work connections (key
   * from the owner's token: a listed user's own, as its frpc derives it), and
   * its bandwidth limit when the client leaves that to us
   * (`bandwidthLimitMode = "server"`): called once per proxy, so every
   * connection of the proxy shares the one bucket. A listed user's
   * bandwidthLimit is one bucket for all of the user's proxies and takes
   * the proxy's place.
   */
  payloadOptions(msg: NewProxy, owner?: ProxyOwner): PayloadTransformOptions {
    const limiter = owner?.account?.limiter ?? serverBandwidthLimiter(msg);
    const key = owner?.account?.cipherKey ?? this.key;
    return { encryptionKey: msg.use_encryption ? key : undefined, compression: msg.use_compression === true, ...(limiter ? { limiter } : {}) };
  }

  addressCheck(owner: ProxyOwner, name: string, msg: NewProxy): AddressCheck | undefined {
    let own: IpRules | undefined;
    try {
      own = IpRules.from(msg.burrow_allow_ips, msg.burrow_deny_ips);
    } catch (err) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": allowIPs/denyIPs: ${describeError(err)}`);
    }
    const rules = [this.serverIpRules, own].filter((r): r is IpRules => r !== undefined);
    if (rules.length === 0) return undefined;
    // Both apply: a proxy's own lists narrow the server's, never widen them.
    return (address) => {
      if (rules.every((r) => r.allows(address))) return true;
      this.refusedByIpRules++;
      owner.log.debug('user connection refused by allowIPs/denyIPs', { proxy: name, remote: address });
      return false;
    };
  }

  userConnCheck(owner: ProxyOwner, name: string, type: string, msg: NewProxy): UserConnCheck | undefined {
    const byAddress = this.addressCheck(owner, name, msg);
    const byPlugins = this.plugins.has('NewUserConn') ? this.pluginCheck(owner, name, type) : undefined;
    if (!byAddress) return byPlugins;
    return async (remoteAddr) => byAddress(bareAddress(remoteAddr)) && (byPlugins ? await byPlugins(remoteAddr) : true);
  }

  private pluginCheck(owner: ProxyOwner, name: string, type: string): UserConnCheck {
    return async (remoteAddr) => {
      try {
        await this.plugins.newUserConn({
          user: { user: owner.user, metas: { ...owner.metas }, run_id: owner.runId },
          proxy_name: name,
          proxy_type: type,
          remote_addr: remoteAddr,
        });
        return true;
      } catch (err) {
        // frp's words; the user connection alone is closed.
        owner.log.warn(`the user conn [${remoteAddr}] was rejected, err:${describeError(err)}`, { proxy: name });
        return false;
      }
    };
  }

  /** The port of the tcpmux (HTTP CONNECT) vhost, 0 when off. */
  get vhostTcpmuxPort(): number {
    return this.vhostTcpmux?.port ?? 0;
  }

  /** The port of the HTTPS (SNI) vhost, 0 when off. */
  get vhostHttpsPort(): number {
    return this.vhostHttps?.port ?? 0;
  }

  /** The port of the HTTP vhost, 0 when off. */
  get vhostHttpPort(): number {
    return this.vhostHttp?.port ?? 0;
  }
}

/** `1.2.3.4:5` or `[::1]:5` (hostPort's forms) → the address alone. */
function bareAddress(hostAndPort: string): string {
  const colon = hostAndPort.lastIndexOf(':');
  const host = colon > 0 ? hostAndPort.slice(0, colon) : hostAndPort;
  return host.replace(/^\[|\]$/g, '');
}

/** As frps: a limit above 0 with mode "server" gets a bucket of that many bytes a second; "client" (the default) is the client's. */
function serverBandwidthLimiter(msg: NewProxy): BandwidthLimiter | undefined {
  if (msg.bandwidth_limit_mode !== 'server' || !msg.bandwidth_limit) return undefined;
  let bytes: number;
  try {
    bytes = bandwidthBytes(msg.bandwidth_limit);
  } catch (err) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${msg.proxy_name ?? ''}": ${describeError(err)}`);
  }
  return bytes > 0 ? new BandwidthLimiter(bytes) : undefined;
}
