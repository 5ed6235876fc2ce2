import { createHash, randomBytes } from 'node:crypto';
import type { SharedAcme } from '../acme/shared-store.js';
import type { StoredCertificate } from '../acme/storage.js';
import type { RedisLink } from './redis-link.js';

/** A lock outlives the longest order (5 min) a little; a node that dies mid-order frees the name when it runs out. */
const ORDER_LOCK_MS = 6 * 60_000;
/** Challenge answers live as long as an order may wait on them. */
const CHALLENGE_MS = 6 * 60_000;
/** A chain and its key are a few KiB; anything larger read back is not ours. */
const MAX_VALUE_BYTES = 256 * 1024;

const PREFIX = 'burrow:acme:';
const accountKeyOf = (directoryUrl: string): string => `${PREFIX}account:${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
const certKey = (name: string): string => `${PREFIX}cert:${name}`;
const lockKey = (name: string): string => `${PREFIX}lock:${name}`;
const challengeKey = (kind: string, id: string): string => `${PREFIX}${kind}:${id}`;

/** Deletes a key only while it still holds our value (a lock that ran out and was taken is not ours to free). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * ACME shared by the nodes of a cluster, in the same Redis as the claims:
 * the account key of each directory (the first node to make one wins), each
 * certificate with its key (kept until it expires), an order lock per name
 * (SET NX with a lease) and the challenge answers of orders under way, so a
 * CA's check may reach any node. Keys and certificates are secrets: Redis
 * must be reachable by the nodes only (docs/cluster.md).
 */
export class ClusterAcme implements SharedAcme {
  constructor(
    private readonly redis: RedisLink,
    private readonly node: string,
  ) {}

  async accountKey(directoryUrl: string): Promise<string | undefined> {
    return bounded(await this.redis.run((r) => r.get(accountKeyOf(directoryUrl))));
  }

  async saveAccountKey(directoryUrl: string, pem: string): Promise<string> {
    const key = accountKeyOf(directoryUrl);
    const set = await this.redis.run((r) => r.set(key, pem, 'NX'));
    if (set === 'OK') return pem;
    return bounded(await this.redis.run((r) => r.get(key))) ?? pem;
  }

  async certificate(name: string): Promise<StoredCertificate | undefined> {
    const text = bounded(await this.redis.run((r) => r.get(certKey(name))));
    if (text === undefined) return undefined;
    try {
      const { chain, key } = JSON.parse(text) as Partial<StoredCertificate>;
      return typeof chain === 'string' && typeof key === 'string' ? { chain, key } : undefined;
    } catch {
      return undefined;
    }
  }

  async saveCertificate(name: string, cert: StoredCertificate, notAfter: number): Promise<void> {
    const text = JSON.stringify({ chain: cert.chain, key: cert.key });
    // Gone from Redis when it expires: nobody can serve it any more.
    await this.redis.run((r) => (notAfter > Date.now() ? r.set(certKey(name), text, 'PXAT', notAfter) : r.set(certKey(name), text)));
  }

  async lockOrder(name: string): Promise<(() => void) | undefined> {
    const mine = `${this.node}:${randomBytes(8).toString('hex')}`;
    const key = lockKey(name);
    const got = await this.redis.run((r) => r.set(key, mine, 'PX', ORDER_LOCK_MS, 'NX'));
    if (got !== 'OK') return undefined;
    return () => void this.redis.run((r) => r.eval(RELEASE, 1, key, mine)).catch(() => {});
  }

  async publishChallenge(kind: 'http-01' | 'tls-alpn-01', id: string, value: string): Promise<() => void> {
    const key = challengeKey(kind, id);
    await this.redis.run((r) => r.set(key, value, 'PX', CHALLENGE_MS));
    return () => void this.redis.run((r) => r.eval(RELEASE, 1, key, value)).catch(() => {});
  }

  async challenge(kind: 'http-01' | 'tls-alpn-01', id: string): Promise<string | undefined> {
    return bounded(await this.redis.run((r) => r.get(challengeKey(kind, id))));
  }
}

function bounded(text: string | null): string | undefined {
  return text === null || text.length > MAX_VALUE_BYTES ? undefined : text;
}
