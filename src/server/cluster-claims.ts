import type { ClaimOwner, ClusterNode, VhostKind } from '../cluster/node.js';
import type { NewProxy } from '../protocol/messages.js';
import { proxyDomains } from '../vhost/domains.js';

/**
 * Claims in the cluster what a NewProxy will hold besides its ports (those
 * are claimed as they open): its name and, for the vhost types, its domains.
 * Resolves the release, for when the proxy goes.
 */
export function claimInCluster(cluster: ClusterNode, owner: ClaimOwner, name: string, type: string, msg: NewProxy, subDomainHost: string): Promise<() => void> {
  const vhost: VhostKind | undefined = type === 'http' || type === 'https' || type === 'tcpmux' ? type : undefined;
  // The same list (and the same refusal of a bad one) the proxy's own routes are built from.
  const domains = vhost ? proxyDomains({ customDomains: msg.custom_domains, subdomain: msg.subdomain }, subDomainHost) : [];
  return cluster.claimProxy(owner, name, vhost, domains);
}
