import type { SecureContext } from 'node:tls';

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
}
