import type { Logger } from '../util/logger.js';
import type { RequestIdentity } from '../vhost/head-rewrite.js';
import type { DomainOwners } from '../vhost/domain-owners.js';
import type { RequestHead } from '../vhost/request-head.js';
import type { HttpRoute } from '../vhost/routes.js';
import type { VhostConnectionGate } from './vhost-gate.js';
import type { RemoteDomains } from './vhost-server.js';

export interface VhostHttpOptions {
  host: string;
  port: number;
  /** seconds to wait for the backend's response head (frp vhostHTTPTimeout) */
  responseTimeoutSec: number;
  custom404Page?: Buffer;
  logger: Logger;
  /** the admission shared by the vhost ports */
  gate: VhostConnectionGate;
  /** the domain owners shared by the vhost kinds */
  owners?: DomainOwners;
  /** the cluster's other nodes, for domains no proxy here serves */
  remote?: RemoteDomains;
  /** one absolute deadline per request head, from accept or from the head's first byte (default 60 s, frp's ReadHeaderTimeout) */
  requestHeadTimeoutMs?: number;
  /** how long a keep-alive connection may wait silent for its next request (default 60 s) */
  idleTimeoutMs?: number;
  /** automatic HTTPS (src/acme/): challenge answers and the redirect of names with a certificate */
  acme?: HttpAcmeHooks;
  /** SSO at the edge (src/server/sso/): the OIDC login in front of routes that have one */
  sso?: VhostSsoGate;
}

/** What the HTTP vhost asks of the certificate manager, on plain-HTTP requests only. */
export interface HttpAcmeHooks {
  /** the body for an HTTP-01 challenge path of an order under way; checked before any routing (in a cluster, a path no local order answers is looked up in Redis) */
  http01Answer(path: string): string | undefined | Promise<string | undefined>;
  /** the `https://host[:port]` origin to redirect a request for `host` and `path` to, or undefined to serve it as plain HTTP */
  httpsOrigin(host: string, path: string): string | undefined;
}

/** What a connection's requests are marked as (X-Forwarded-Proto): the plain port, or TLS terminated on the HTTPS vhost. */
export type VhostProto = 'http' | 'https';

/** What the SSO gate decides for one request: answer it itself (a redirect, 401, 403, the callback), or let it through as this user. */
export type SsoVerdict = { answer: Buffer } | { identity: RequestIdentity };

/** What the HTTP vhost asks of the SSO gate, once per request after routing. */
export interface VhostSsoGate {
  /**
   * undefined (at once, not a promise, so the request waits on nothing) when no login applies (no `[[sso]]` for the host, no `sso` on
   * the route, not one of the gate's own paths); `lookup` routes another path
   * of the same host (the callback returns to the path the login began on)
   */
  check(
    head: RequestHead,
    proto: VhostProto,
    route: HttpRoute | undefined,
    lookup: (path: string) => HttpRoute | undefined,
  ): Promise<SsoVerdict | undefined> | undefined;
}
