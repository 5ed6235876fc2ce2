import type { FetchImplementation, JWTVerifyGetKey } from 'jose';
import { boundedHttpRequest } from '../../transport/http-request.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';

/** Each fetch from the issuer (discovery, key set): frp's go-oidc waits as long as Go's default client, which is forever. */
const ISSUER_FETCH_TIMEOUT_MS = 5_000;
/** Discovery documents and key sets are a few KiB; this leaves room for many keys. */
const ISSUER_MAX_BYTES = 256 * 1024;
/** A failed discovery is the answer for this long, so a crowd of logins does not hammer a struggling issuer. */
const DISCOVERY_RETRY_MS = 10_000;
/** Signature algorithms go-oidc verifies; a discovery document may list others, which are left out. */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

export enum IssuerState {
  /** not asked yet */
  Unknown = 'unknown',
  Discovering = 'discovering',
  Ready = 'ready',
  /** the last discovery failed; retried on the first use after DISCOVERY_RETRY_MS */
  Failed = 'failed',
}

/** What verification needs from the issuer: where its keys are and which algorithms it signs with. */
export interface IssuerKeys {
  keys: JWTVerifyGetKey;
  algorithms: string[];
  /** the endpoints a browser login needs (SSO at the vhost); absent ones are not in the discovery document */
  endpoints: IssuerEndpoints;
}

export interface IssuerEndpoints {
  authorization?: string;
  token?: string;
  userinfo?: string;
  /** token_endpoint_auth_methods_supported; empty = not said (the spec's default is client_secret_basic) */
  tokenAuthMethods: string[];
}

/**
 * The issuer of `auth.oidc.issuer`: its discovery document
 * (`/.well-known/openid-configuration`, whose `issuer` must equal the
 * configured one, as go-oidc requires) and its key set, fetched with jose's
 * remote key set (cached, fetched again for a key id it has not seen).
 * Unlike frp, which fetches discovery once at start and exits when the issuer
 * is down, discovery happens on the first login and is retried after a
 * failure, so the server starts before its issuer and survives its outages.
 */
export class OidcIssuer {
  private state = IssuerState.Unknown;
  private pending: Promise<IssuerKeys> | undefined;
  private ready: IssuerKeys | undefined;
  private failure: { error: Error; at: number } | undefined;

  constructor(
    readonly issuer: string,
    private readonly log: Logger,
  ) {}

  get status(): IssuerState {
    return this.state;
  }

  /** The issuer's keys; one discovery at a time, shared by the logins that wait for it. */
  async keys(): Promise<IssuerKeys> {
    if (this.ready) return this.ready;
    if (this.failure && Date.now() - this.failure.at < DISCOVERY_RETRY_MS) throw this.failure.error;
    if (!this.pending) {
      this.state = IssuerState.Discovering;
      this.pending = this.discover().then(
        (keys) => {
          this.state = IssuerState.Ready;
          this.ready = keys;
          this.failure = undefined;
          this.pending = undefined;
          this.log.info('OIDC issuer discovered', { issuer: this.issuer });
          return keys;
        },
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          this.state = IssuerState.Failed;
          this.failure = { error, at: Date.now() };
          this.pending = undefined;
          this.log.warn('OIDC issuer discovery failed', { issuer: this.issuer, reason: describeError(error) });
          throw error;
        },
      );
    }
    return this.pending;
  }

  private async discover(): Promise<IssuerKeys> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await boundedHttpRequest({ url, method: 'GET', timeoutMs: ISSUER_FETCH_TIMEOUT_MS, maxBytes: ISSUER_MAX_BYTES });
    if (res.status !== 200) throw new BurrowError('BURROW_OIDC_FAILED', `OIDC discovery at ${url} answered ${res.status}`);
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new BurrowError('BURROW_OIDC_FAILED', `OIDC discovery at ${url} is not JSON`);
    }
    const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    if (d.issuer !== this.issuer) {
      throw new BurrowError(
        'BURROW_OIDC_FAILED',
        `the issuer ${JSON.stringify(this.issuer)} calls itself ${JSON.stringify(d.issuer)} in its discovery document`,
      );
    }
    if (typeof d.jwks_uri !== 'string' || !/^https?:\/\//.test(d.jwks_uri)) {
      throw new BurrowError('BURROW_OIDC_FAILED', `OIDC discovery at ${url} names no http(s) jwks_uri`);
    }
    const listed = Array.isArray(d.id_token_signing_alg_values_supported) ? d.id_token_signing_alg_values_supported : [];
    const algorithms = listed.filter((a): a is string => typeof a === 'string' && ASYMMETRIC_ALGS.includes(a));
    // Loaded here, not at start: a server with token auth never pays for it.
    const { createRemoteJWKSet, customFetch } = await import('jose');
    const keys = createRemoteJWKSet(new URL(d.jwks_uri), { timeoutDuration: ISSUER_FETCH_TIMEOUT_MS, [customFetch]: boundedFetch });
    const httpUrl = (v: unknown): string | undefined => (typeof v === 'string' && /^https?:\/\//.test(v) ? v : undefined);
    const methods = Array.isArray(d.token_endpoint_auth_methods_supported) ? d.token_endpoint_auth_methods_supported : [];
    const endpoints: IssuerEndpoints = {
      authorization: httpUrl(d.authorization_endpoint),
      token: httpUrl(d.token_endpoint),
      userinfo: httpUrl(d.userinfo_endpoint),
      tokenAuthMethods: methods.filter((m): m is string => typeof m === 'string'),
    };
    // As go-oidc: an issuer that lists no algorithm it can verify signs with RS256.
    return { keys, algorithms: algorithms.length > 0 ? algorithms : ['RS256'], endpoints };
  }
}

/** jose's key-set fetch through the bounded request, so a huge or endless answer cannot hold the server. */
const boundedFetch: FetchImplementation = async (url, options) => {
  const res = await boundedHttpRequest({ url, method: 'GET', timeoutMs: ISSUER_FETCH_TIMEOUT_MS, maxBytes: ISSUER_MAX_BYTES });
  if (options.signal.aborted) throw new Error('key set fetch aborted');
  const headers = new Headers();
  const type = res.headers['content-type'];
  if (typeof type === 'string') headers.set('content-type', type);
  return new Response(new Uint8Array(res.body), { status: res.status, headers });
};
