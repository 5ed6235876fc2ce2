import type { Socket } from 'node:net';
import { CertificateManager } from '../acme/certificate-manager.js';
import { ChallengeResponders, HTTP01_PREFIX } from '../acme/challenges.js';
import type { ChallengeType } from '../acme/order.js';
import type { SharedAcme } from '../acme/shared-store.js';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../util/logger.js';
import type { Timers } from '../util/timers.js';
import type { VhostRouter } from '../vhost/router.js';
import type { HttpAcmeHooks } from './vhost-http.js';
import type { TlsTermination } from './vhost-https.js';

/** What the vhosts of one server need to serve HTTPS with certificates from an ACME CA. */
export interface AutoHttps {
  readonly manager: CertificateManager;
  /** for the HTTP vhost: challenge answers, and the redirect of names with a certificate */
  readonly httpHooks: HttpAcmeHooks;
  /** for the HTTPS vhost: where it terminates TLS and with what */
  termination(serveDecrypted: (tls: Socket) => Promise<void>): TlsTermination;
}

/**
 * Wires src/acme/ to the vhosts of a server whose config lists acme.domains
 * (undefined otherwise): the challenge types the open ports can answer, a
 * name counted as served while the HTTP vhost routes it, and the https
 * origin a redirect points to.
 */
export function createAutoHttps(
  config: ServerConfig,
  httpRouter: () => VhostRouter<unknown> | undefined,
  log: Logger,
  timers?: Timers,
  /** the cluster's share of ACME: one order per name for every node, challenge answers on every node */
  shared?: SharedAcme,
): AutoHttps | undefined {
  const a = config.acme;
  if (a.domains.length === 0) return undefined;
  const responders = new ChallengeResponders(shared);
  const usable = (t: string): t is ChallengeType => (t === 'http-01' ? config.vhostHTTPPort > 0 : t === 'tls-alpn-01' && config.vhostHTTPSPort > 0);
  const routed = (name: string): boolean => httpRouter()?.serves(name) ?? false;
  const manager = new CertificateManager({
    directoryUrl: a.directory,
    email: a.email,
    trustedCaFile: a.trustedCaFile,
    storage: a.storage,
    domains: a.domains,
    challenges: a.challenges.filter(usable),
    renewBeforeDays: a.renewBeforeDays,
    responders,
    isRouted: routed,
    log,
    ...(timers ? { timers } : {}),
    ...(shared ? { shared } : {}),
  });
  const httpsPort = config.vhostHTTPSPort;
  // Another node's order answered here: worth a line when following a validation through the cluster.
  const sharedAnswer = <T>(found: Promise<T | undefined> | undefined, challenge: string): Promise<T | undefined> | undefined =>
    found?.then((v) => {
      if (v !== undefined) log.debug("acme: challenge answered from another node's order", { challenge });
      return v;
    });
  const origin = (host: string): string => `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}`;
  return {
    manager,
    httpHooks: {
      http01Answer: (path) => responders.http01Answer(path) ?? sharedAnswer(responders.sharedHttp01(path), 'http-01'),
      // Challenge paths stay on plain HTTP: another server's (or a later) check may ask for them.
      httpsOrigin: (host, path) => (a.redirectHTTP && !path.startsWith(HTTP01_PREFIX) && manager.contextFor(host) ? origin(host) : undefined),
    },
    termination: (serveDecrypted) => ({
      challengeContext: (name) => responders.tlsAlpnContext(name) ?? sharedAnswer(responders.sharedTlsAlpn(name), 'tls-alpn-01'),
      certificateFor: (name) => (routed(name) ? manager.contextFor(name) : undefined),
      serve: serveDecrypted,
    }),
  };
}
