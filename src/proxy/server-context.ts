import type { RemoteInfo } from 'node:dgram';
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PortRange } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';
import type { BandwidthLimiter } from '../relay/bandwidth-limit.js';
import type { Logger } from '../util/logger.js';
import type { VhostRouter } from '../vhost/router.js';
import type { ConnectionRoute, HttpRoute } from '../vhost/routes.js';
import type { PayloadTransformOptions } from './payload-transform.js';
import type { TcpGroups } from './tcp/group.js';

/**
 * What the server halves know of the server: the few calls they need, not
 * the server itself, so src/proxy/ never imports src/server/.
 */

/** The server's `[[users]]` account a client logged in as, as its proxies see it. */
export interface OwnerAccount {
  readonly name: string;
  /** from the account's own token: the key of `useEncryption` work connections, as its frpc derives it */
  readonly cipherKey: Buffer;
  /** the ports a proxy asking for port 0 is given one of; empty = the server's */
  readonly allowPorts: readonly PortRange[];
  /** the account's bandwidth bucket, shared by all of its proxies */
  readonly limiter: BandwidthLimiter | undefined;
}

/** The logged-in client that registers a proxy (the server's ControlSession). */
export interface ProxyOwner {
  /** the Login user: a domain belongs to the user who first routed it */
  readonly user: string;
  readonly runId: string;
  /** the Login metas, for the server plugins */
  readonly metas: Readonly<Record<string, string>>;
  /** ports this client's proxies hold, counted against maxPortsPerClient */
  readonly portsUsed: number;
  readonly log: Logger;
  /** what the client said it can read beyond frp (Login `burrow_features`); empty for a stock frpc */
  readonly burrowFeatures: readonly string[];
  /** a work connection of this client (waits, bounded, when none is idle; refused past the account's limits) */
  getWorkConn(): Promise<Duplex>;
  /** the `[[users]]` account the client logged in as; undefined with the global token */
  readonly account?: OwnerAccount;
}

/**
 * A udp proxy's public port: the calls it makes of a bound dgram socket. In a
 * cluster it is that socket plus the users other nodes relay to it, whose
 * replies go back the way they came.
 */
export interface PublicUdpPort {
  address(): AddressInfo;
  on(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  send(msg: Buffer, port: number, address: string, callback: (err: Error | null) => void): void;
  close(callback?: () => void): unknown;
}

/** A vhost listener as a proxy sees it: where to add its routes, and the public port. */
export interface VhostRoutes<T> {
  readonly router: VhostRouter<T>;
  readonly port: number;
}

/**
 * Asks the server plugins (frps NewUserConn) whether a user connection from
 * `remoteAddr` (`ip:port`) may go on; false when refused (already logged),
 * and then only that connection is closed.
 */
export type UserConnCheck = (remoteAddr: string) => Promise<boolean>;

/** Whether a user connection (or datagram) from this bare address may go on; false = dropped, never reaching the client. */
export type AddressCheck = (address: string) => boolean;

/** What the server shares among the server halves of all proxies. */
export interface ServerProxyContext {
  /** frp subDomainHost: `subdomain` is a label under it */
  readonly subDomainHost: string;
  /** 0 = no cap */
  readonly maxPortsPerClient: number;
  /** frp's `udpPacketSize`: datagrams toward a client not known to be burrow are cut to it */
  readonly udpPacketSize: number;
  /** the tcp load-balancing groups of this server */
  readonly tcpGroups: TcpGroups;
  /** each vhost kind's listener; undefined when its port is off */
  readonly httpVhost: VhostRoutes<HttpRoute> | undefined;
  readonly httpsVhost: VhostRoutes<ConnectionRoute> | undefined;
  readonly tcpmuxVhost: VhostRoutes<ConnectionRoute> | undefined;
  /** a public TCP port for proxy `name`, checked against allowPorts (the server's, and the owner's account's) */
  listenProxyPort(name: string, port: number, owner: ProxyOwner): Promise<Server>;
  /** a public UDP port for proxy `name`, checked against allowPorts (the server's, and the owner's account's) */
  bindProxyUdpPort(name: string, port: number, owner: ProxyOwner): Promise<PublicUdpPort>;
  /** the per-proxy transforms a NewProxy asks for on its work connections (key from the owner's token) */
  payloadOptions(msg: NewProxy, owner: ProxyOwner): PayloadTransformOptions;
  /**
   * the check every user connection of proxy `name` meets (`ip:port`): the
   * server's and the NewProxy's allowIPs/denyIPs, then the NewUserConn
   * plugins; undefined when there is nothing to check, so a user connection
   * awaits nothing extra
   */
  userConnCheck(owner: ProxyOwner, name: string, type: string, msg: NewProxy): UserConnCheck | undefined;
  /** the allowIPs/denyIPs check alone (a bare address), for http requests and udp datagrams; undefined when no list is set */
  addressCheck(owner: ProxyOwner, name: string, msg: NewProxy): AddressCheck | undefined;
}
