/**
 * What a claim in Redis says: which node holds a proxy name, a port or a
 * domain, how other nodes reach it, and for which client. Stored as one JSON
 * string under `burrow:claim:<kind>:<id>`; compare-and-renew compares the
 * whole string, so a node renews only what it wrote itself.
 */
export type ClaimKind = 'proxy' | 'tcp' | 'udp' | 'http' | 'https' | 'tcpmux';

export interface ClaimValue {
  /** the node's name (cluster.nodeName) */
  n: string;
  /** its internal link, host:port */
  l: string;
  /** the run id of the client that registered it: the same client may take it over through another node */
  r: string;
  /** the Login user of that client */
  u: string;
  /** the proxy the claim is for */
  p: string;
}

export const CLAIM_PREFIX = 'burrow:claim:';

export function claimKey(kind: ClaimKind, id: string): string {
  return `${CLAIM_PREFIX}${kind}:${id}`;
}

/** kind and id of a claim key; undefined for a key that is not one of ours. */
export function parseClaimKey(key: string): { kind: ClaimKind; id: string } | undefined {
  if (!key.startsWith(CLAIM_PREFIX)) return undefined;
  const rest = key.slice(CLAIM_PREFIX.length);
  const colon = rest.indexOf(':');
  const kind = rest.slice(0, colon);
  if (colon < 0 || !['proxy', 'tcp', 'udp', 'http', 'https', 'tcpmux'].includes(kind)) return undefined;
  return { kind: kind as ClaimKind, id: rest.slice(colon + 1) };
}

/** A claim's value as read back from Redis; undefined when it is not what a node writes. */
export function parseClaimValue(text: string): ClaimValue | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { n, l, r, u, p } = v as Record<string, unknown>;
  if (typeof n !== 'string' || typeof l !== 'string' || typeof r !== 'string' || typeof u !== 'string' || typeof p !== 'string') return undefined;
  return { n, l, r, u, p };
}
