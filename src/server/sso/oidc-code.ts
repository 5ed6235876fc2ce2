import { boundedHttpRequest, type BoundedResponse } from '../../transport/http-request.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { SsoPolicy } from '../../vhost/sso-policy.js';
import type { IssuerKeys } from '../auth/oidc-issuer.js';

/** The token request: the issuer may be slow to check the code and sign a token. */
const TOKEN_TIMEOUT_MS = 10_000;
/** The userinfo request. */
const USERINFO_TIMEOUT_MS = 5_000;
/** A token answer or a userinfo document is a few KiB. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** Clock difference allowed between the issuer and this server on `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_S = 60;

export interface SignedIn {
  email: string;
  /** false when the issuer says the address is not verified; true when it says it is or says nothing */
  emailVerified: boolean;
}

export interface CodeExchange {
  policy: SsoPolicy;
  issuer: IssuerKeys;
  code: string;
  redirectUri: string;
  verifier: string;
  nonce: string;
}

/**
 * The second half of a login, top to bottom: the authorization code for
 * tokens at the token endpoint (with the client secret and the PKCE
 * verifier), the ID token checked (signature with the issuer's keys, `iss`,
 * `aud`, `azp`, `exp`, `nonce`), and the email from the ID token or, when the
 * issuer keeps it there, from the userinfo endpoint. Every request is bounded
 * in time and size; a failure is a BURROW_OIDC_FAILED naming the step.
 */
export async function exchangeCode(x: CodeExchange): Promise<SignedIn> {
  const { policy, issuer } = x;
  const tokenUrl = issuer.endpoints.token;
  if (!tokenUrl) throw new BurrowError('BURROW_OIDC_FAILED', 'the issuer names no token_endpoint');
  const form = new URLSearchParams({ grant_type: 'authorization_code', code: x.code, redirect_uri: x.redirectUri, code_verifier: x.verifier });
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const methods = issuer.endpoints.tokenAuthMethods;
  if (methods.length > 0 && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) {
    form.set('client_id', policy.clientId);
    form.set('client_secret', policy.clientSecret);
  } else {
    // RFC 6749 §2.3.1: both parts form-encoded before they are joined.
    const pair = `${encodeURIComponent(policy.clientId)}:${encodeURIComponent(policy.clientSecret)}`;
    headers.Authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
  }
  const tokenRes = await request('token request', {
    url: tokenUrl,
    method: 'POST',
    headers,
    body: form.toString(),
    timeoutMs: TOKEN_TIMEOUT_MS,
    maxBytes: MAX_ANSWER_BYTES,
  });
  const tokens = jsonObject(tokenRes, 'token answer');
  if (tokenRes.status !== 200) {
    const why =
      typeof tokens.error === 'string'
        ? `${tokens.error}${typeof tokens.error_description === 'string' ? `: ${tokens.error_description}` : ''}`
        : `status ${tokenRes.status}`;
    throw new BurrowError('BURROW_OIDC_FAILED', `the token endpoint refused the code (${why.slice(0, 200)})`);
  }
  if (typeof tokens.id_token !== 'string') throw new BurrowError('BURROW_OIDC_FAILED', 'the token answer has no id_token');
  const claims = await verifyIdToken(tokens.id_token, x);
  let source: Record<string, unknown> = claims;
  if (typeof claims.email !== 'string') {
    if (!issuer.endpoints.userinfo || typeof tokens.access_token !== 'string') throw new BurrowError('BURROW_OIDC_FAILED', 'the ID token carries no email');
    const info = await request('userinfo request', {
      url: issuer.endpoints.userinfo,
      method: 'GET',
      headers: { Authorization: `Bearer ${tokens.access_token}` },
      timeoutMs: USERINFO_TIMEOUT_MS,
      maxBytes: MAX_ANSWER_BYTES,
    });
    source = jsonObject(info, 'userinfo answer');
    if (info.status !== 200) throw new BurrowError('BURROW_OIDC_FAILED', `the userinfo endpoint answered ${info.status}`);
    // OIDC core §5.3.2: userinfo of another subject must not be used.
    if (source.sub !== claims.sub) throw new BurrowError('BURROW_OIDC_FAILED', 'the userinfo answer is for another subject');
    if (typeof source.email !== 'string')
      throw new BurrowError('BURROW_OIDC_FAILED', 'the issuer gave no email (is the "email" scope allowed for this client?)');
  }
  return { email: String(source.email), emailVerified: source.email_verified !== false && source.email_verified !== 'false' };
}

async function verifyIdToken(idToken: string, x: CodeExchange): Promise<Record<string, unknown>> {
  const { jwtVerify } = await import('jose');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(idToken, x.issuer.keys, {
      issuer: x.policy.issuer,
      audience: x.policy.clientId,
      algorithms: x.issuer.algorithms,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (err) {
    throw new BurrowError('BURROW_OIDC_FAILED', `the ID token does not verify: ${describeError(err)}`);
  }
  // OIDC core §3.1.3.7: with several audiences, azp names us.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== x.policy.clientId) {
    throw new BurrowError('BURROW_OIDC_FAILED', 'the ID token was issued to another party (azp)');
  }
  if (payload.nonce !== x.nonce) throw new BurrowError('BURROW_OIDC_FAILED', 'the ID token nonce is not the one this login sent');
  return payload;
}

async function request(what: string, req: Parameters<typeof boundedHttpRequest>[0]): Promise<BoundedResponse> {
  try {
    return await boundedHttpRequest(req);
  } catch (err) {
    throw new BurrowError('BURROW_OIDC_FAILED', `${what} failed: ${describeError(err)}`);
  }
}

function jsonObject(res: BoundedResponse, what: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(res.body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BurrowError('BURROW_OIDC_FAILED', `the ${what} (status ${res.status}) is not a JSON object`);
}
