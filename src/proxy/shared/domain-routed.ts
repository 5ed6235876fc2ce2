import type { Duplex } from 'node:stream';
import type { NewProxy } from '../../protocol/messages.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import { proxyDomains } from '../../vhost/domains.js';
import type { VhostRouter } from '../../vhost/router.js';
import type { ConnectionRoute } from '../../vhost/routes.js';
import type { PayloadTransformOptions } from '../payload-transform.js';
import type { UserConnCheck } from '../server-context.js';
import type { ServerProxy } from '../types.js';
import { checkRouteCount } from './route-limit.js';

export interface DomainRoutedProxyOptions {
  type: 'https' | 'tcpmux';
  name: string;
  msg: NewProxy;
  router: VhostRouter<ConnectionRoute>;
  /** the vhost's public port, left out of remote_addr when it is the scheme's default */
  port: number;
  defaultPort: number;
  subDomainHost: string;
  /** the Login user of the owning client: a domain belongs to the user who first routed it */
  user: string;
  payload: PayloadTransformOptions;
  getWorkConn(): Promise<Duplex>;
  /** the server plugins' NewUserConn check; absent when none is configured */
  admitUser?: UserConnCheck;
}

/**
 * Server half of the proxies routed by name for a whole connection (https,
 * tcpmux): one route per domain (and route user); registration is
 * all-or-nothing so a conflict leaves nothing behind.
 */
export class DomainRoutedProxy implements ServerProxy {
  readonly type: 'https' | 'tcpmux';
  readonly name: string;
  readonly remoteAddr: string;
  readonly portsUsed = 0;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly route: ConnectionRoute;
  private readonly added: string[] = [];
  private readonly routeUser: string;

  constructor(private readonly opts: DomainRoutedProxyOptions) {
    const { msg } = opts;
    checkRouteCount(opts.name, msg, false);
    this.type = opts.type;
    this.name = opts.name;
    this.routeUser = msg.route_by_http_user ?? '';
    this.route = {
      proxyName: opts.name,
      payload: opts.payload,
      traffic: this.traffic,
      httpUser: msg.http_user ?? '',
      httpPassword: msg.http_pwd ?? '',
      getWorkConn: opts.getWorkConn,
      ...(opts.admitUser ? { admitUser: opts.admitUser } : {}),
      active: 0,
    };
    const domains = proxyDomains({ customDomains: msg.custom_domains, subdomain: msg.subdomain }, opts.subDomainHost);
    try {
      for (const domain of domains) {
        opts.router.add({
          domain,
          location: '',
          routeByHTTPUser: this.routeUser,
          name: opts.name,
          value: this.route,
          group: msg.group,
          groupKey: msg.group_key,
          user: opts.user,
        });
        this.added.push(domain);
      }
    } catch (err) {
      this.removeRoutes();
      throw err;
    }
    this.remoteAddr = domains.map((d) => (opts.port === opts.defaultPort ? d : `${d}:${opts.port}`)).join(',');
  }

  get activeConnections(): number {
    return this.route.active;
  }

  private removeRoutes(): void {
    for (const domain of this.added.splice(0)) this.opts.router.remove({ domain, location: '', routeByHTTPUser: this.routeUser, name: this.name });
  }

  close(): Promise<void> {
    this.removeRoutes();
    return Promise.resolve();
  }
}
