import { createHash } from 'node:crypto';
import type { ClaimOwner, ClusterNode, VhostKind } from '../cluster/node.js';
import { IMPLICIT_GROUP_PREFIX } from '../cluster/group-claims.js';
import type { ProxyGrouping } from '../cluster/groups.js';
import type { NewProxy } from '../protocol/messages.js';
import { proxyDomains } from '../vhost/domains.js';

/**
 * Claims in the cluster what a NewProxy will hold besides its ports (those
 * are claimed as they open): its name and, for the vhost types, its domains.
 * `sessionGroup` is the Login's `burrow_session_group`: a client holding
 * sessions to several nodes (`serverAddrs`) registers the same proxies on
 * each, and they share their names, ports and domains as one implicit group.
 * Resolves the release, for when the proxy goes.
 */
export function claimInCluster(
  cluster: ClusterNode,
  owner: ClaimOwner & { readonly login: { readonly burrow_session_group?: string } },
  name: string,
  type: string,
  msg: NewProxy,
  subDomainHost: string,
): Promise<() => void> {
  const sessionGroup = owner.login.burrow_session_group ?? '';
  const vhost: VhostKind | undefined = type === 'http' || type === 'https' || type === 'tcpmux' ? type : undefined;
  // The same list (and the same refusal of a bad one) the proxy's own routes are built from.
  const domains = vhost ? proxyDomains({ customDomains: msg.custom_domains, subdomain: msg.subdomain }, subDomainHost) : [];
  return cluster.claimProxy(owner, name, vhost, domains, groupingOf(owner.user, msg, sessionGroup));
}

/** The groups a proxy takes part in across nodes: its own `loadBalancer.group`, and its client's sessions. */
export function groupingOf(user: string, msg: NewProxy, sessionGroup: string): ProxyGrouping {
  // Named after the user and the client's secret id: no other client, and no `loadBalancer.group`, can take the name.
  const sessions =
    sessionGroup === ''
      ? undefined
      : { group: IMPLICIT_GROUP_PREFIX + createHash('sha256').update(`${user}\0${sessionGroup}`).digest('hex').slice(0, 24), key: sessionGroup };
  const lb = msg.group ? { group: msg.group, key: msg.group_key ?? '' } : undefined;
  return { ...(lb ? { lb } : {}), ...(sessions ? { sessions } : {}) };
}
