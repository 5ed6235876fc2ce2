import type { Duplex } from 'node:stream';
import type { PayloadTransformOptions } from '../protocol/payload-options.js';
import type { TrafficCounter } from '../relay/pipe.js';
import type { HeaderSet } from './head-rewrite.js';
import type { SsoPolicy } from './sso-policy.js';

/**
 * What a registered proxy puts in a vhost router and what the vhost listener
 * needs of it: the proxies (src/proxy/) build routes, the vhost listeners
 * (src/server/vhost-*) serve them, and both depend on these types only.
 */

/** What one registered http proxy contributes to the router. */
export interface HttpRoute {
  readonly proxyName: string;
  readonly payload: PayloadTransformOptions;
  readonly hostRewrite: string;
  readonly setHeaders: HeaderSet;
  readonly responseHeaders: HeaderSet;
  readonly httpUser: string;
  readonly httpPassword: string;
  readonly traffic: TrafficCounter;
  getWorkConn(): Promise<Duplex>;
  /** allowIPs/denyIPs on the visitor's bare address; absent when no list is set */
  admitAddress?: (address: string) => boolean;
  /** the proxy's own OIDC login (burrow_sso); a server `[[sso]]` covering the request's host takes precedence */
  sso?: SsoPolicy;
  /** visitor connections currently bound to this route's backend */
  active: number;
}

/** What a whole-connection vhost (https by SNI, tcpmux by CONNECT) needs from the proxy it routed to. */
export interface ConnectionRoute {
  readonly proxyName: string;
  readonly payload: PayloadTransformOptions;
  readonly traffic: TrafficCounter;
  readonly httpUser: string;
  readonly httpPassword: string;
  getWorkConn(): Promise<Duplex>;
  /** the server plugins' NewUserConn check (`ip:port` of the visitor); absent when none is configured */
  admitUser?: (remoteAddr: string) => Promise<boolean>;
  active: number;
}
