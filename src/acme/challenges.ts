import { createSecureContext, type SecureContext } from 'node:tls';
import type { ChallengeShare } from './shared-store.js';

/** The path prefix of an HTTP-01 challenge (RFC 8555 §8.3). */
export const HTTP01_PREFIX = '/.well-known/acme-challenge/';
/** The ALPN protocol of a TLS-ALPN-01 challenge handshake (RFC 8737). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/**
 * The answers to the challenges under way, read by the vhosts: the HTTP vhost
 * looks up a token before routing a request, the HTTPS vhost the
 * certificate of a name on a handshake that offers `acme-tls/1`. Entries
 * live only while their order waits for the CA.
 */
export class ChallengeResponders {
  private readonly tokens = new Map<string, string>();
  private readonly alpn = new Map<string, SecureContext>();

  /** `share`: the cluster's Redis, where the answers of every node's orders are, so a CA's check may land on any node. */
  constructor(private readonly share?: ChallengeShare) {}

  /** The key authorization for an HTTP-01 request path, or undefined when it is not one of ours. */
  http01Answer(path: string): string | undefined {
    if (!path.startsWith(HTTP01_PREFIX)) return undefined;
    return this.tokens.get(path.slice(HTTP01_PREFIX.length));
  }

  /** The TLS-ALPN-01 certificate of `name`, while its challenge is under way. */
  tlsAlpnContext(name: string): SecureContext | undefined {
    return this.alpn.get(name);
  }

  setHttp01(token: string, keyAuthorization: string): () => void {
    this.tokens.set(token, keyAuthorization);
    return () => this.tokens.delete(token);
  }

  setTlsAlpn(name: string, context: SecureContext): () => void {
    this.alpn.set(name, context);
    return () => {
      if (this.alpn.get(name) === context) this.alpn.delete(name);
    };
  }

  /**
   * Publishes an answer to the other nodes (nothing without a cluster);
   * resolves its removal. A Redis that cannot take it is not fatal: a check
   * that lands on another node still reaches this one through the cluster's
   * relay of the domain.
   */
  async publish(kind: 'http-01' | 'tls-alpn-01', id: string, value: string): Promise<() => void> {
    if (!this.share) return () => {};
    return this.share.publishChallenge(kind, id, value).catch(() => () => {});
  }

  /** The HTTP-01 answer another node published, for a path no local order answers; undefined without a cluster. */
  sharedHttp01(path: string): Promise<string | undefined> | undefined {
    const token = path.slice(HTTP01_PREFIX.length);
    if (!this.share || !path.startsWith(HTTP01_PREFIX) || !TOKEN.test(token)) return undefined;
    return this.share.challenge('http-01', token).catch(() => undefined);
  }

  /** The TLS-ALPN-01 certificate another node published for `name`; undefined without a cluster. */
  sharedTlsAlpn(name: string): Promise<SecureContext | undefined> | undefined {
    if (!this.share) return undefined;
    return this.share.challenge('tls-alpn-01', name.toLowerCase()).then(
      (text) => (text === undefined ? undefined : alpnContext(text)),
      () => undefined,
    );
  }
}

/** RFC 8555 tokens are base64url; anything else is not looked up in Redis. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** The PEM pair a TLS-ALPN-01 answer travels as between nodes. */
export function alpnAnswer(key: string, cert: string): string {
  return JSON.stringify({ key, cert });
}

function alpnContext(text: string): SecureContext | undefined {
  try {
    const { key, cert } = JSON.parse(text) as { key?: unknown; cert?: unknown };
    return typeof key === 'string' && typeof cert === 'string' ? createSecureContext({ key, cert }) : undefined;
  } catch {
    return undefined;
  }
}
