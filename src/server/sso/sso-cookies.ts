import { createHmac, timingSafeEqual } from 'node:crypto';
import { SSO_COOKIE_PREFIX } from '../../vhost/sso-policy.js';

/**
 * The SSO cookies: a JSON payload and its HMAC-SHA256, both base64url,
 * `payload.mac`. Two keys are derived from the one secret, so a state cookie
 * can never pass as a session cookie or the other way round. They are signed,
 * not encrypted: a session holds only the host, the policy, the email and
 * the expiry, which the browser's user may read; the PKCE verifier is not in
 * the state cookie at all but derived from its state with the key (see
 * pkceVerifier), so the browser never holds it.
 */

/** A login has this long between the redirect to the issuer and the callback. */
export const STATE_TTL_S = 600;

export interface SessionClaims {
  /** the host the cookie was set for (a copy presented to another host is refused) */
  h: string;
  /** the policy id */
  p: string;
  e: string;
  /** expiry, Unix seconds */
  x: number;
}

export interface StateClaims {
  h: string;
  p: string;
  /** the `state` sent to the issuer */
  s: string;
  /** the `nonce` sent to the issuer, to be found in the ID token */
  n: string;
  /** where the browser goes after the login: an origin-form target on this host */
  r: string;
  x: number;
}

export const sessionCookieName = (policyId: string): string => `${SSO_COOKIE_PREFIX}_${policyId}`;
export const stateCookieName = (policyId: string): string => `${SSO_COOKIE_PREFIX}_state_${policyId}`;

export class SsoCookieSigner {
  private readonly sessionKey: Buffer;
  private readonly stateKey: Buffer;

  constructor(secret: Buffer) {
    this.sessionKey = createHmac('sha256', secret).update('burrow sso session').digest();
    this.stateKey = createHmac('sha256', secret).update('burrow sso state').digest();
  }

  signSession(claims: SessionClaims): string {
    return sign(this.sessionKey, claims);
  }

  signState(claims: StateClaims): string {
    return sign(this.stateKey, claims);
  }

  /** The session's claims when the MAC is ours and the shape right; expiry and host are the caller's to check. */
  readSession(value: string): SessionClaims | undefined {
    const c = read(this.sessionKey, value);
    if (!c || typeof c.h !== 'string' || typeof c.p !== 'string' || typeof c.e !== 'string' || typeof c.x !== 'number') return undefined;
    return { h: c.h, p: c.p, e: c.e, x: c.x };
  }

  readState(value: string): StateClaims | undefined {
    const c = read(this.stateKey, value);
    if (!c) return undefined;
    const { h, p, s, n, r, x } = c;
    if (typeof h !== 'string' || typeof p !== 'string' || typeof s !== 'string' || typeof n !== 'string' || typeof r !== 'string' || typeof x !== 'number')
      return undefined;
    return { h, p, s, n, r, x };
  }

  /** RFC 7636's code_verifier for a login's state: 43 base64url characters only this server can compute. */
  pkceVerifier(state: string): string {
    return createHmac('sha256', this.stateKey).update(`pkce ${state}`).digest('base64url');
  }
}

function sign(key: Buffer, claims: object): string {
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** A cookie value is at most a few hundred bytes; anything far longer is not ours. */
const MAX_COOKIE_VALUE = 4096;

function read(key: Buffer, value: string): Record<string, unknown> | undefined {
  if (value.length > MAX_COOKIE_VALUE) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), 'base64url');
  const expected = createHmac('sha256', key).update(payload).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** name → value of every cookie in the request's Cookie headers (the first of a repeated name wins, as browsers send the most specific first). */
export function parseCookies(headerValues: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const header of headerValues) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      if (name !== '' && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
    }
  }
  return out;
}

export interface CookieOptions {
  path: string;
  /** seconds; 0 removes the cookie */
  maxAge: number;
  /** the request came over TLS */
  secure: boolean;
}

/**
 * A Set-Cookie value: host-only (no Domain attribute, so it goes back to
 * this exact host and no other), HttpOnly (no script reads it), SameSite=Lax
 * (sent on the top-level GET back from the issuer, not on cross-site
 * subrequests or POSTs), Secure when the page is https.
 */
export function setCookie(name: string, value: string, opts: CookieOptions): string {
  return `${name}=${value}; Path=${opts.path}; Max-Age=${opts.maxAge}; HttpOnly; SameSite=Lax${opts.secure ? '; Secure' : ''}`;
}
