import type { Duplex } from 'node:stream';
import type { NewProxy } from '../protocol/messages.js';
import type { HttpsRoute, VhostHttpsServer } from '../server/vhost-https.js';
import { proxyDomains } from '../vhost/domains.js';
import type { TrafficCounter } from '../util/pipe.js';
import type { PayloadTransformOptions } from './payload-transform.js';
import type { ServerProxy } from './types.js';

export interface HttpsServerProxyOptions {
  name: string;
  msg: NewProxy;
  vhost: VhostHttpsServer;
  subDomainHost: string;
  payload: PayloadTransformOptions;
  getWorkConn(): Promise<Duplex>;
}

/** Server half of an `https` proxy: one SNI route per domain; TLS is not terminated. */
export class HttpsServerProxy implements ServerProxy {
  readonly type = 'https';
  readonly name: string;
  readonly remoteAddr: string;
  readonly portsUsed = 0;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly route: HttpsRoute;
  private readonly domains: string[] = [];

  constructor(private readonly opts: HttpsServerProxyOptions) {
    this.name = opts.name;
    this.route = { proxyName: opts.name, payload: opts.payload, traffic: this.traffic, getWorkConn: opts.getWorkConn, active: 0 };
    const domains = proxyDomains({ customDomains: opts.msg.custom_domains, subdomain: opts.msg.subdomain }, opts.subDomainHost);
    try {
      for (const domain of domains) {
        opts.vhost.router.add({ domain, location: '', routeByHTTPUser: '', name: opts.name, value: this.route, group: opts.msg.group, groupKey: opts.msg.group_key });
        this.domains.push(domain);
      }
    } catch (err) {
      this.removeRoutes();
      throw err;
    }
    const port = opts.vhost.port;
    this.remoteAddr = domains.map((d) => (port === 443 ? d : `${d}:${port}`)).join(',');
  }

  get activeConnections(): number {
    return this.route.active;
  }

  private removeRoutes(): void {
    for (const domain of this.domains.splice(0)) this.opts.vhost.router.remove({ domain, location: '', routeByHTTPUser: '', name: this.name });
  }

  close(): Promise<void> {
    this.removeRoutes();
    return Promise.resolve();
  }
}
