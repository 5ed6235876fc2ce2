import type { ServerConfig } from '../../config/types.js';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { OidcIssuer } from './oidc-issuer.js';
import type { AuthVerifier, LoginAuth, PostLoginMessage } from './verifier.js';

/** A frame body is at most 10240 bytes, so no honest token is longer. */
const MAX_TOKEN_CHARS = 10_240;
/** go-oidc allows a token's `nbf` to be this far in the future (clock skew between issuer and server). */
const NBF_LEEWAY_S = 5 * 60;

type OidcServerConfig = ServerConfig['auth']['oidc'];

/**
 * `auth.method = "oidc"` on the server, as frp: the Login's privilege_key is
 * an access token (a JWT) signed by a key of the issuer's key set, whose
 * `iss` is the issuer (unless skipIssuerCheck), whose `aud` contains
 * `auth.oidc.audience` (when set) and which has not expired (unless
 * skipExpiryCheck). With additionalScopes, Pings and NewWorkConns carry a
 * token too, and its subject must be the one of the client's Login; frp
 * accepts a subject any client logged in with, burrow only the same client's.
 */
export class OidcVerifier implements AuthVerifier {
  private readonly issuer: OidcIssuer;

  constructor(
    private readonly cfg: OidcServerConfig,
    private readonly scopes: readonly string[],
    log: Logger,
  ) {
    this.issuer = new OidcIssuer(cfg.issuer, log);
  }

  async verifyLogin(login: { privilege_key?: string }): Promise<LoginAuth> {
    const checked = await this.check(login.privilege_key ?? '');
    if ('subject' in checked) return { subject: checked.subject };
    return { refused: { category: checked.category, reason: `invalid OIDC token in login: ${checked.reason}` } };
  }

  verifyPing(msg: PostLoginMessage, loginSubject: string): undefined | Promise<string | undefined> {
    if (!this.scopes.includes('HeartBeats')) return undefined;
    return this.verifyPostLogin(msg, loginSubject, 'heartbeat');
  }

  async verifyNewWorkConn(msg: PostLoginMessage, loginSubject: string): Promise<{ signed: boolean; failure?: string }> {
    if (!this.scopes.includes('NewWorkConns') && (msg.privilege_key ?? '') === '') return { signed: false };
    return { signed: true, failure: await this.verifyPostLogin(msg, loginSubject, 'NewWorkConn') };
  }

  private async verifyPostLogin(msg: PostLoginMessage, loginSubject: string, what: string): Promise<string | undefined> {
    const checked = await this.check(msg.privilege_key ?? '');
    if (!('subject' in checked)) return `invalid OIDC token in ${what}: ${checked.reason}`;
    // frp's words, so a client that matches on them still does.
    if (checked.subject !== loginSubject) return `received different OIDC subject in login and ${what}. new subject: ${checked.subject}`;
    return undefined;
  }

  /** One token, top to bottom: the issuer's keys, the signature, then the claims in go-oidc's order. */
  private async check(token: string): Promise<{ subject: string } | { category: string; reason: string }> {
    if (token === '') return { category: 'no token', reason: 'the token is empty' };
    if (token.length > MAX_TOKEN_CHARS) return { category: 'bad token', reason: `the token is longer than ${MAX_TOKEN_CHARS} characters` };
    let keys: Awaited<ReturnType<OidcIssuer['keys']>>;
    try {
      keys = await this.issuer.keys();
    } catch (err) {
      return { category: 'issuer unreachable', reason: `cannot check it: ${describeError(err)}` };
    }
    let payload: Uint8Array;
    try {
      const { compactVerify } = await import('jose');
      ({ payload } = await compactVerify(token, keys.keys, { algorithms: keys.algorithms }));
    } catch (err) {
      return { category: 'bad signature', reason: `failed to verify signature: ${describeError(err)}` };
    }
    let claims: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      claims = parsed as Record<string, unknown>;
    } catch {
      return { category: 'bad token', reason: 'the token claims are not a JSON object' };
    }
    const refusal = this.checkClaims(claims, Math.floor(Date.now() / 1000));
    if (refusal) return refusal;
    return { subject: typeof claims.sub === 'string' ? claims.sub : '' };
  }

  private checkClaims(claims: Record<string, unknown>, now: number): { category: string; reason: string } | undefined {
    if (!this.cfg.skipIssuerCheck && claims.iss !== this.cfg.issuer) {
      return {
        category: 'wrong issuer',
        reason: `issued by a different provider, expected ${JSON.stringify(this.cfg.issuer)} got ${JSON.stringify(claims.iss ?? '')}`,
      };
    }
    if (this.cfg.audience !== '') {
      const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!aud.includes(this.cfg.audience)) {
        return { category: 'wrong audience', reason: `expected audience ${JSON.stringify(this.cfg.audience)} got ${JSON.stringify(aud)}` };
      }
    }
    if (!this.cfg.skipExpiryCheck) {
      // As go-oidc: a token without `exp` counts as expired.
      const exp = typeof claims.exp === 'number' ? claims.exp : 0;
      if (exp < now) return { category: 'expired', reason: `token is expired (Token Expiry: ${new Date(exp * 1000).toISOString()})` };
      if (typeof claims.nbf === 'number' && now + NBF_LEEWAY_S < claims.nbf) {
        return { category: 'not yet valid', reason: `current time is before the nbf (not before) time ${new Date(claims.nbf * 1000).toISOString()}` };
      }
    }
    return undefined;
  }
}
