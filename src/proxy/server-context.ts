import type { Socket as UdpSocket } from 'node:dgram';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NewProxy } from '../protocol/messages.js';
import type { Logger } from '../util/logger.js';
import type { VhostRouter } from '../vhost/router.js';
import type { ConnectionRoute, HttpRoute } from '../vhost/routes.js';
import type { PayloadTransformOptions } from './payload-transform.js';
import type { TcpGroups } from './tcp/group.js';

/**
 * What the server halves know of the server: the few calls they need, not
 * the server itself, so src/proxy/ never imports src/server/.
 */

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
  /** a work connection of this client (waits, bounded, when none is idle) */
  getWorkConn(): Promise<Duplex>;
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
  /** a public TCP port for proxy `name`, checked against allowPorts */
  listenProxyPort(name: string, port: number): Promise<Server>;
  /** a public UDP port for proxy `name`, checked against allowPorts */
  bindProxyUdpPort(name: string, port: number): Promise<UdpSocket>;
  /** the per-proxy transforms a NewProxy asks for on its work connections (key from the token) */
  payloadOptions(msg: NewProxy): PayloadTransformOptions;
  /** the NewUserConn check of proxy `name`; undefined when no plugin asks, so a user connection awaits nothing extra */
  userConnCheck(owner: ProxyOwner, name: string, type: string): UserConnCheck | undefined;
}
