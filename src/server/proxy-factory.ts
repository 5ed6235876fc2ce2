import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';
import { DomainRoutedProxy } from '../proxy/domain-routed.js';
import { HttpServerProxy } from '../proxy/http.js';
import { TcpServerProxy } from '../proxy/tcp.js';
import type { ServerProxy } from '../proxy/types.js';
import { BurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { sameSecret } from '../util/secret.js';
import type { ControlSession } from './control-session.js';
import { bindProxyUdpPort, listenProxyPort } from './port-policy.js';
import { createSecretProxy } from './secret-proxies.js';
import { TcpGroup } from './tcp-group.js';
import { UdpServerProxy } from './udp-proxy.js';
import { DomainOwners } from '../vhost/domain-owners.js';
import { VhostConnectionGate } from './vhost-gate.js';
import { VhostHttpServer } from './vhost-http.js';
import { VhostHttpsServer } from './vhost-https.js';
import { VhostTcpmuxServer } from './vhost-tcpmux.js';

/**
 * Builds the public half of each proxy type from its NewProxy, and owns what
 * those halves share: the vhost listeners (http, https, tcpmux) and the tcp
 * load-balancing groups. The server keeps the names and limits; this keeps
 * the ports.
 */
export class ProxyFactory {
  private vhostHttp: VhostHttpServer | undefined;
  private vhostHttps: VhostHttpsServer | undefined;
  private vhostTcpmux: VhostTcpmuxServer | undefined;
  private readonly tcpGroups = new Map<string, TcpGroup>();

  constructor(
    private readonly config: ServerConfig,
    /** the cipher key derived from the token, for proxies with useEncryption */
    private readonly key: Buffer,
    private readonly log: Logger,
  ) {}

  /** Opens the vhost ports the config asks for (frp: 0 = off). */
  async openVhosts(): Promise<void> {
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
        requestHeadTimeoutMs: headerTimeoutMs,
        idleTimeoutMs,
      });
      this.vhostHttp = vhost;
      await vhost.listen();
    }
    if (this.config.vhostHTTPSPort > 0) {
      const vhost = new VhostHttpsServer({
        host: this.config.proxyBindAddr,
        port: this.config.vhostHTTPSPort,
        logger: this.log.child({ vhost: 'https' }),
        gate,
        owners,
        helloTimeoutMs: headerTimeoutMs,
        lingerMs: idleTimeoutMs,
      });
      this.vhostHttps = vhost;
      await vhost.listen();
    }
    if (this.config.tcpmuxHTTPConnectPort > 0) {
      const vhost = new VhostTcpmuxServer({
        host: this.config.proxyBindAddr,
        port: this.config.tcpmuxHTTPConnectPort,
        passthrough: this.config.tcpmuxPassthrough,
        logger: this.log.child({ vhost: 'tcpmux' }),
        gate,
        owners,
        connectTimeoutMs: headerTimeoutMs,
        lingerMs: idleTimeoutMs,
      });
      this.vhostTcpmux = vhost;
      await vhost.listen();
    }
  }

  async close(): Promise<void> {
    await this.vhostHttp?.close();
    await this.vhostHttps?.close();
    await this.vhostTcpmux?.close();
  }

  /** Visitors' connections open on the vhost ports. */
  get connectionCount(): number {
    return (this.vhostHttp?.connectionCount ?? 0) + (this.vhostHttps?.connectionCount ?? 0) + (this.vhostTcpmux?.connectionCount ?? 0);
  }

  /** The public half of proxy `name` of `type`; refused with BURROW_PROXY_REJECTED and the reason. */
  async build(control: ControlSession, name: string, type: string, msg: NewProxy): Promise<ServerProxy> {
    switch (type) {
      case 'tcp':
        return await this.createTcpProxy(control, name, msg);
      case 'udp':
        return await this.createUdpProxy(control, name, msg);
      case 'stcp':
      case 'sudp':
      case 'xtcp':
        return createSecretProxy(type, control, name, msg, this.payloadOptions(msg));
      case 'http':
        return this.createHttpProxy(control, name, msg);
      case 'tcpmux':
        if (!this.vhostTcpmux) {
          throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no tcpmux proxies (tcpmuxHTTPConnectPort is not set)`);
        }
        if ((msg.multiplexer ?? 'httpconnect') !== 'httpconnect') {
          throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": multiplexer "${msg.multiplexer ?? ''}" is not supported (only httpconnect)`);
        }
        return new DomainRoutedProxy({
          type: 'tcpmux',
          name,
          msg,
          router: this.vhostTcpmux.router,
          port: this.vhostTcpmux.port,
          defaultPort: -1,
          subDomainHost: this.config.subDomainHost,
          user: control.user,
          payload: this.payloadOptions(msg),
          getWorkConn: () => control.getWorkConn(),
        });
      case 'https':
        if (!this.vhostHttps) {
          throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no https proxies (vhostHTTPSPort is not set)`);
        }
        return new DomainRoutedProxy({
          type: 'https',
          name,
          msg,
          router: this.vhostHttps.router,
          port: this.vhostHttps.port,
          defaultPort: 443,
          subDomainHost: this.config.subDomainHost,
          user: control.user,
          payload: this.payloadOptions(msg),
          getWorkConn: () => control.getWorkConn(),
        });
      default:
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": type "${type}" is not supported by this server yet`);
    }
  }

  /** The remote port a tcp/udp NewProxy asks for, checked against the range and maxPortsPerClient. */
  private requestedPort(control: ControlSession, name: string, msg: NewProxy): number {
    const port = msg.remote_port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": remote port ${port} is out of range 0–65535`);
    }
    const max = this.config.maxPortsPerClient;
    if (max > 0 && control.portsUsed + 1 > max) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this client already uses its ${max} allowed port(s)`);
    }
    return port;
  }

  private async createUdpProxy(control: ControlSession, name: string, msg: NewProxy): Promise<ServerProxy> {
    const port = this.requestedPort(control, name, msg);
    const socket = await bindProxyUdpPort(name, this.config.proxyBindAddr, port, this.config.allowPorts);
    return new UdpServerProxy({ name, socket, payload: this.payloadOptions(msg), getWorkConn: () => control.getWorkConn(), logger: control.log });
  }

  private async createTcpProxy(control: ControlSession, name: string, msg: NewProxy): Promise<ServerProxy> {
    const port = this.requestedPort(control, name, msg);
    const common = { name, payload: this.payloadOptions(msg), getWorkConn: () => control.getWorkConn(), logger: control.log };
    if (!msg.group) {
      return new TcpServerProxy({ ...common, listener: await listenProxyPort(name, this.config.proxyBindAddr, port, this.config.allowPorts) });
    }
    const group = await this.tcpGroupFor(name, msg.group, msg.group_key ?? '', port);
    const member = new TcpServerProxy({ ...common, listener: group });
    group.join(member);
    return member;
  }

  /** The group's shared port, opened by its first member; later members must bring the same key and port. */
  private async tcpGroupFor(name: string, groupName: string, key: string, port: number): Promise<TcpGroup> {
    const existing = this.tcpGroups.get(groupName);
    if (existing) {
      if (!sameSecret(existing.key, key)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": group [${groupName}] auth failed`);
      if (port !== 0 && port !== existing.port) {
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": group [${groupName}] should have the same remote port ${existing.port}`);
      }
      return existing;
    }
    const listener = await listenProxyPort(name, this.config.proxyBindAddr, port, this.config.allowPorts);
    // Another member may have opened the group while this one waited for its port.
    const raced = this.tcpGroups.get(groupName);
    if (raced) {
      listener.close();
      return this.tcpGroupFor(name, groupName, key, port);
    }
    const group = new TcpGroup(groupName, key, listener, (g) => {
      if (this.tcpGroups.get(groupName) === g) this.tcpGroups.delete(groupName);
    });
    this.tcpGroups.set(groupName, group);
    return group;
  }

  private createHttpProxy(control: ControlSession, name: string, msg: NewProxy): ServerProxy {
    if (!this.vhostHttp) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no http proxies (vhostHTTPPort is not set)`);
    }
    return new HttpServerProxy({
      name,
      msg,
      vhost: this.vhostHttp,
      subDomainHost: this.config.subDomainHost,
      user: control.user,
      payload: this.payloadOptions(msg),
      getWorkConn: () => control.getWorkConn(),
    });
  }

  /** The per-proxy transforms a NewProxy asks for on its work connections (key from the token). */
  private payloadOptions(msg: NewProxy): { encryptionKey?: Buffer; compression: boolean } {
    return { encryptionKey: msg.use_encryption ? this.key : undefined, compression: msg.use_compression === true };
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
