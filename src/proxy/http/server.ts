import type { Duplex } from 'node:stream';
import type { NewProxy } from '../../protocol/messages.js';
import { BurrowError } from '../../util/errors.js';
import type { TrafficCounter } from '../../relay/pipe.js';
import { compileHeaderSet } from '../../vhost/head-rewrite.js';
import { proxyDomains } from '../../vhost/domains.js';
import type { VhostRouteKey } from '../../vhost/router.js';
import type { HttpRoute } from '../../vhost/routes.js';
import type { PayloadTransformOptions } from '../payload-transform.js';
import type { AddressCheck, ProxyOwner, ServerProxyContext, VhostRoutes } from '../server-context.js';
import { checkRouteCount } from '../shared/route-limit.js';
import type { ServerProxy } from '../types.js';
import { proxySsoPolicy } from './sso.js';

export interface HttpServerProxyOptions {
  name: string;
  msg: NewProxy;
  vhost: VhostRoutes<HttpRoute>;
  subDomainHost: string;
  /** the Login user of the owning client: a domain belongs to the user who first routed it */
  user: string;
  payload: PayloadTransformOptions;
  getWorkConn(): Promise<Duplex>;
  /** allowIPs/denyIPs on the visitor's address; absent when no list is set */
  admitAddress?: AddressCheck;
}

/**
 * Server half of an `http` proxy: one route in the shared HTTP vhost per
 * domain × location; requests reach the owning client's work connections.
 * Registration is all-or-nothing: a conflicting route undoes the ones added.
 */
export class HttpServerProxy implements ServerProxy {
  readonly type = 'http';
  readonly name: string;
  readonly remoteAddr: string;
  readonly portsUsed = 0;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly route: HttpRoute;
  private readonly keys: VhostRouteKey[] = [];

  constructor(private readonly opts: HttpServerProxyOptions) {
    const { msg, name } = opts;
    checkRouteCount(name, msg, true);
    this.name = name;
    this.route = {
      proxyName: name,
      payload: opts.payload,
      hostRewrite: msg.host_header_rewrite ?? '',
      setHeaders: compileHeaderSet(msg.headers),
      responseHeaders: compileHeaderSet(msg.response_headers),
      httpUser: msg.http_user ?? '',
      httpPassword: msg.http_pwd ?? '',
      traffic: this.traffic,
      getWorkConn: opts.getWorkConn,
      ...(opts.admitAddress ? { admitAddress: opts.admitAddress } : {}),
      ...(msg.burrow_sso ? { sso: proxySsoPolicy(name, msg.burrow_sso) } : {}),
      active: 0,
    };
    const domains = proxyDomains({ customDomains: msg.custom_domains, subdomain: msg.subdomain }, opts.subDomainHost);
    const locations = msg.locations && msg.locations.length > 0 ? msg.locations : [''];
    const routeByHTTPUser = msg.route_by_http_user ?? '';
    try {
      for (const domain of domains) {
        for (const location of locations) {
          const key = { domain, location, routeByHTTPUser };
          opts.vhost.router.add({ ...key, name, value: this.route, group: msg.group, groupKey: msg.group_key, user: opts.user });
          this.keys.push(key);
        }
      }
    } catch (err) {
      this.removeRoutes();
      throw err;
    }
    const port = opts.vhost.port;
    const hosts = domains.flatMap((d) => locations.map(() => (port === 80 ? d : `${d}:${port}`)));
    this.remoteAddr = hosts.join(',');
  }

  get activeConnections(): number {
    return this.route.active;
  }

  private removeRoutes(): void {
    for (const key of this.keys.splice(0)) this.opts.vhost.router.remove({ ...key, name: this.name });
  }

  close(): Promise<void> {
    this.removeRoutes();
    return Promise.resolve();
  }
}

/** The server half of an `http` NewProxy: routes in the server's HTTP vhost. */
export function createHttpServerProxy(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy {
  if (!ctx.httpVhost) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no http proxies (vhostHTTPPort is not set)`);
  }
  return new HttpServerProxy({
    name,
    msg,
    vhost: ctx.httpVhost,
    subDomainHost: ctx.subDomainHost,
    user: owner.user,
    payload: ctx.payloadOptions(msg, owner),
    getWorkConn: () => owner.getWorkConn(),
    admitAddress: ctx.addressCheck(owner, name, msg),
  });
}
