import type { NewProxy } from '../../protocol/messages.js';
import { BurrowError } from '../../util/errors.js';

/**
 * Routes one vhost proxy may register (domains, times locations for http).
 * Unlike frp, which takes any number: each route is inserted in order into
 * its domain's list, so a single 10 KiB NewProxy listing a few hundred
 * domains and as many locations would hold the event loop for seconds and
 * take hundreds of MiB. Real proxies name a handful of each.
 */
export const MAX_ROUTES_PER_PROXY = 256;

/**
 * Refuses a NewProxy whose custom_domains (plus subdomain) and locations
 * would exceed MAX_ROUTES_PER_PROXY, before any of them is looked at.
 */
export function checkRouteCount(name: string, msg: NewProxy, withLocations: boolean): void {
  const domains = (msg.custom_domains?.length ?? 0) + (msg.subdomain ? 1 : 0);
  if (!withLocations) {
    if (domains > MAX_ROUTES_PER_PROXY) {
      throw new BurrowError(
        'BURROW_PROXY_REJECTED',
        `proxy "${name}": custom_domains and subdomain give ${domains} domains; at most ${MAX_ROUTES_PER_PROXY} per proxy`,
      );
    }
    return;
  }
  const routes = domains * Math.max(1, msg.locations?.length ?? 0);
  if (routes > MAX_ROUTES_PER_PROXY) {
    throw new BurrowError(
      'BURROW_PROXY_REJECTED',
      `proxy "${name}": custom_domains × locations makes ${routes} routes (${domains} domains, ${msg.locations?.length ?? 0} locations); at most ${MAX_ROUTES_PER_PROXY} per proxy`,
    );
  }
}
