import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { ServerConfig } from '../../config/types.js';
import { domainGlob } from '../../config/account-terms.js';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { clipped } from '../../util/peer-string.js';
import { getHeaderValues, requestAuthority, requestHost, requestPath, type RequestHead } from '../../vhost/request-head.js';
import type { HttpRoute } from '../../vhost/routes.js';
import { emailAllowed, makeSsoPolicy, SSO_COOKIE_PREFIX, type SsoPolicy, usableEmail } from '../../vhost/sso-policy.js';
import { OidcIssuer } from '../auth/oidc-issuer.js';
import type { SsoVerdict, VhostProto, VhostSsoGate } from '../vhost-http-options.js';
import { exchangeCode } from './oidc-code.js';
import { parseCookies, sessionCookieName, setCookie, SsoCookieSigner, STATE_TTL_S, stateCookieName, type StateClaims } from './sso-cookies.js';
import { hostJudgeable, normalisePath, pathNeedsNormalising } from './request-shape.js';
import { ssoPage, ssoRedirect } from './sso-pages.js';

/** The gate's own paths on every host it guards. */
export const SSO_CALLBACK_PATH = '/.burrow/sso/callback';
export const SSO_LOGOUT_PATH = '/.burrow/sso/logout';
const STATE_PATH = '/.burrow/sso';

/** Issuers whose discovery and keys are kept: clients choose issuers, so the map is bounded (the oldest goes). */
const MAX_ISSUERS = 256;
/** A return target longer than this goes back to `/` instead (it travels in a cookie). */
const MAX_RETURN_TARGET = 2048;
/** An authorization code or a state longer than these is not one a real issuer sent. */
const MAX_CODE = 4096;
const MAX_STATE = 256;
/** A whole callback (discovery, keys, token, userinfo) gets this long; each request has its own shorter bound too. */
const CALLBACK_TIMEOUT_MS = 30_000;

interface ServerEntry {
  domains: RegExp[];
  policy: SsoPolicy;
}

/**
 * SSO at the edge: an OIDC login (authorization code + PKCE) in front of the
 * http routes that ask for one. A server `[[sso]]` whose domains cover the
 * request's host wins over a proxy's own `sso` (the operator's rule is the
 * one a client cannot loosen). Without a valid session cookie a GET or HEAD is
 * sent to the issuer, anything else gets 401 (a webhook cannot follow a
 * login). The callback and logout paths are answered here on guarded hosts;
 * a request that passes goes upstream with the email in the policy's header
 * and without the gate's cookies.
 */
export class SsoGate implements VhostSsoGate {
  private readonly signer: SsoCookieSigner;
  private readonly issuers = new Map<string, OidcIssuer>();

  constructor(
    private readonly entries: readonly ServerEntry[],
    secret: Buffer,
    private readonly log: Logger,
  ) {
    this.signer = new SsoCookieSigner(secret);
  }

  /**
   * Synchronously undefined when no login concerns the request (no table for
   * the host, no `sso` on the route, not one of the gate's paths), so the
   * vhost's other requests pay for a host match and nothing more.
   */
  check(
    head: RequestHead,
    proto: VhostProto,
    route: HttpRoute | undefined,
    lookup: (path: string) => HttpRoute | undefined,
  ): Promise<SsoVerdict | undefined> | undefined {
    const host = requestHost(head);
    const serverPolicy = this.serverPolicy(host);
    if (this.entries.length > 0 && !hostJudgeable(host)) {
      this.log.debug('sso: host refused', { host: clipped(host, 100) });
      return Promise.resolve({ answer: ssoPage(400, 'Bad request', 'The Host header of this request is not a plain host name.') });
    }
    const path = requestPath(head);
    if (pathNeedsNormalising(path) && this.pathSlips(path, serverPolicy, route, lookup)) {
      this.log.debug('sso: path refused', { host, path: clipped(path, 200) });
      return Promise.resolve({ answer: ssoPage(400, 'Bad request', 'The path of this request has "." or ".." segments or "//" that lead past a sign-in.') });
    }
    const policy = serverPolicy ?? route?.sso;
    if (!policy && !path.startsWith(`${STATE_PATH}/`)) return undefined;
    return this.decide(head, proto, host, path, policy, lookup);
  }

  /**
   * Whether a path with dot segments or `//`, as a backend would resolve it,
   * leads to another route than the one it was routed to, where a login
   * applies: routes match by prefix, so `/webhook/../admin` would reach an
   * open `/webhook` proxy whose service serves `/admin`.
   */
  private pathSlips(path: string, serverPolicy: SsoPolicy | undefined, route: HttpRoute | undefined, lookup: (path: string) => HttpRoute | undefined): boolean {
    const resolved = lookup(normalisePath(path));
    if (!resolved?.sso && !serverPolicy) return false;
    // Compared by proxy and policy, not by object: a load-balancing group answers with another member each time.
    return resolved?.proxyName !== route?.proxyName || resolved?.sso?.id !== route?.sso?.id;
  }

  private async decide(
    head: RequestHead,
    proto: VhostProto,
    host: string,
    path: string,
    policy: SsoPolicy | undefined,
    lookup: (path: string) => HttpRoute | undefined,
  ): Promise<SsoVerdict | undefined> {
    const cookies = parseCookies(getHeaderValues(head.headers, 'cookie'));
    if (path === SSO_CALLBACK_PATH) {
      const state = this.loginState(head, host, cookies);
      if (state || policy) return { answer: await this.callback(head, proto, host, state, lookup) };
    }
    if (path === SSO_LOGOUT_PATH) {
      const ours = [...cookies.keys()].filter((n) => n.startsWith(`${SSO_COOKIE_PREFIX}_`) && !n.startsWith(stateCookieName('')));
      if (ours.length > 0 || policy) return { answer: this.logout(ours, proto) };
    }
    if (!policy) return undefined;
    const email = this.sessionEmail(cookies, policy, host);
    if (email !== undefined) return { identity: { header: policy.emailHeader, value: email } };
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      return { answer: ssoPage(401, 'Sign-in required', 'This address needs a sign-in in a browser first; requests other than GET are not redirected to it.') };
    }
    return { answer: await this.startLogin(head, proto, host, policy) };
  }

  /** The server `[[sso]]` covering `host`: the first in file order. */
  private serverPolicy(host: string): SsoPolicy | undefined {
    return this.entries.find((e) => e.domains.some((d) => d.test(host)))?.policy;
  }

  /** The session's email when its cookie is ours, for this host and policy, unexpired, and the address is still allowed. */
  private sessionEmail(cookies: Map<string, string>, policy: SsoPolicy, host: string): string | undefined {
    const value = cookies.get(sessionCookieName(policy.id));
    if (value === undefined) return undefined;
    const s = this.signer.readSession(value);
    const now = Math.floor(Date.now() / 1000);
    const valid = s !== undefined && s.h === host && s.p === policy.id && s.x > now && s.x - now <= policy.sessionSeconds && emailAllowed(policy, s.e);
    if (!valid) this.log.debug('sso session cookie refused', { host, policy: policy.source });
    return valid ? s.e : undefined;
  }

  /** The redirect to the issuer, with a state cookie that brings the login back here. */
  private async startLogin(head: RequestHead, proto: VhostProto, host: string, policy: SsoPolicy): Promise<Buffer> {
    const origin = this.origin(head, proto);
    if (!origin) return ssoPage(400, 'Bad request', 'The Host header of this request cannot be used for a sign-in.');
    let authorize: string | undefined;
    try {
      authorize = (await this.issuer(policy.issuer).keys()).endpoints.authorization;
      if (!authorize) throw new Error('the issuer names no authorization_endpoint');
    } catch (err) {
      // The issuer's own discovery failure is logged once per retry by OidcIssuer; not once per visitor here.
      this.log.debug('sso login cannot start: issuer unavailable', { host, policy: policy.source, reason: describeError(err) });
      return ssoPage(502, 'Sign-in unavailable', 'The sign-in provider cannot be reached right now. Try again in a moment.');
    }
    const target = head.target.startsWith('/') && head.target.length <= MAX_RETURN_TARGET ? head.target : '/';
    const state: StateClaims = {
      h: host,
      p: policy.id,
      s: randomBytes(16).toString('base64url'),
      n: randomBytes(16).toString('base64url'),
      r: target,
      x: Math.floor(Date.now() / 1000) + STATE_TTL_S,
    };
    const url = new URL(authorize);
    const challenge = createHash('sha256').update(this.signer.pkceVerifier(state.s)).digest('base64url');
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: policy.clientId,
      redirect_uri: `${origin}${SSO_CALLBACK_PATH}`,
      scope: 'openid email',
      state: state.s,
      nonce: state.n,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(k, v);
    }
    const cookie = setCookie(stateCookieName(policy.id), this.signer.signState(state), { path: STATE_PATH, maxAge: STATE_TTL_S, secure: proto === 'https' });
    return ssoRedirect(url.href, [cookie]);
  }

  /** The state cookie matching the callback's `state`, when one is ours, for this host and unexpired. */
  private loginState(head: RequestHead, host: string, cookies: Map<string, string>): StateClaims | undefined {
    const given = queryOf(head).get('state') ?? '';
    if (given === '' || given.length > MAX_STATE) return undefined;
    const now = Math.floor(Date.now() / 1000);
    for (const [name, value] of cookies) {
      if (!name.startsWith(stateCookieName(''))) continue;
      const s = this.signer.readState(value);
      if (s && s.s === given && s.h === host && s.x > now) return s;
    }
    return undefined;
  }

  /** The issuer's answer, top to bottom: the state, the code for tokens, the ID token, the email, then the session cookie. */
  private async callback(
    head: RequestHead,
    proto: VhostProto,
    host: string,
    state: StateClaims | undefined,
    lookup: (path: string) => HttpRoute | undefined,
  ): Promise<Buffer> {
    // Absolute on this origin: a target such as `//elsewhere.example` must not leave the host.
    const origin = this.origin(head, proto);
    const back = `${origin ?? ''}${state?.r ?? '/'}`;
    const again = { href: back, label: 'Sign in again' };
    if (!state) return ssoPage(400, 'Sign-in expired', 'This sign-in was not started here, or took too long. Open the page again to sign in.', { link: again });
    const policy = this.policyById(state.p, host, state.r, lookup);
    if (!policy) return ssoPage(400, 'Sign-in expired', 'This address no longer asks for this sign-in. Open the page again.', { link: again });
    const query = queryOf(head);
    const clearState = setCookie(stateCookieName(policy.id), '', { path: STATE_PATH, maxAge: 0, secure: proto === 'https' });
    const fail = (status: number, title: string, text: string, reason: string): Buffer => {
      // Debug, not warn: anyone can start a login and bring a failing callback, so these are the visitor's, not the operator's.
      this.log.debug('sso login failed', { host, policy: policy.source, reason });
      return ssoPage(status, title, text, { link: again, headers: [`Set-Cookie: ${clearState}`] });
    };
    const error = query.get('error');
    if (error !== null) return fail(403, 'Sign-in refused', 'The sign-in provider did not sign you in.', `the issuer answered ${clipped(error, 100)}`);
    // RFC 9207: an issuer that names itself in the answer must be the one this login went to (mix-up defence).
    const iss = query.get('iss');
    if (iss !== null && iss !== policy.issuer)
      return fail(400, 'Bad sign-in answer', 'The answer came from another sign-in provider.', `the answer names issuer ${clipped(iss, 200)}`);
    const code = query.get('code') ?? '';
    if (code === '' || code.length > MAX_CODE || head.method !== 'GET' || !origin) {
      return fail(400, 'Bad sign-in answer', 'The answer from the sign-in provider cannot be used.', 'the callback has no usable code');
    }
    let email: string;
    try {
      const issuer = await this.issuer(policy.issuer).keys();
      const exchange = exchangeCode({
        policy,
        issuer,
        code,
        redirectUri: `${origin}${SSO_CALLBACK_PATH}`,
        verifier: this.signer.pkceVerifier(state.s),
        nonce: state.n,
      });
      const signedIn = await withDeadline(exchange, CALLBACK_TIMEOUT_MS);
      if (!signedIn.emailVerified)
        return fail(403, 'Not allowed', 'Your email address is not verified by the sign-in provider.', `email ${clipped(signedIn.email)} is not verified`);
      email = signedIn.email;
    } catch (err) {
      return fail(502, 'Sign-in failed', 'The sign-in could not be completed. Try again.', describeError(err));
    }
    if (!usableEmail(email)) {
      return fail(
        403,
        'Not allowed',
        'Your email address has characters this sign-in does not accept (printable ASCII only).',
        `email ${clipped(email)} is not printable ASCII`,
      );
    }
    if (!emailAllowed(policy, email)) return fail(403, 'Not allowed', `${email} may not use this address.`, `email ${clipped(email)} is not allowed`);
    const expires = Math.floor(Date.now() / 1000) + policy.sessionSeconds;
    const session = this.signer.signSession({ h: host, p: policy.id, e: email, x: expires });
    this.log.info('sso login', { host, policy: policy.source, email });
    return ssoRedirect(back, [
      setCookie(sessionCookieName(policy.id), session, { path: '/', maxAge: policy.sessionSeconds, secure: proto === 'https' }),
      clearState,
    ]);
  }

  /** The policy a login was started under: the server's for this host, else the proxy's at the path the login returns to. */
  private policyById(id: string, host: string, returnTarget: string, lookup: (path: string) => HttpRoute | undefined): SsoPolicy | undefined {
    const candidate = this.serverPolicy(host) ?? lookup(pathOf(returnTarget))?.sso;
    return candidate?.id === id ? candidate : undefined;
  }

  /** Removes every session cookie of ours the browser sent; the issuer's own session is not ended (no RP-initiated logout). */
  private logout(names: readonly string[], proto: VhostProto): Buffer {
    const clear = names.map((n) => `Set-Cookie: ${setCookie(n, '', { path: '/', maxAge: 0, secure: proto === 'https' })}`);
    return ssoPage(200, 'Signed out', 'You are signed out of this address.', { link: { href: '/', label: 'Sign in again' }, headers: clear });
  }

  /** `http://host[:port]` as the browser addressed us, or undefined when the Host header is not a plain authority. */
  private origin(head: RequestHead, proto: VhostProto): string | undefined {
    const authority = requestAuthority(head);
    return /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(authority) ? `${proto}://${authority}` : undefined;
  }

  private issuer(url: string): OidcIssuer {
    let issuer = this.issuers.get(url);
    if (!issuer) {
      if (this.issuers.size >= MAX_ISSUERS) this.issuers.delete(this.issuers.keys().next().value as string);
      issuer = new OidcIssuer(url, this.log);
      this.issuers.set(url, issuer);
    }
    return issuer;
  }
}

function queryOf(head: RequestHead): URLSearchParams {
  const q = head.target.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : head.target.slice(q + 1));
}

function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  try {
    return decodeURIComponent(end < 0 ? target : target.slice(0, end));
  } catch {
    return '/';
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the issuer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The gate for a server: its `[[sso]]` tables and the cookie key. The key is
 * `ssoCookieSecret` when set (sessions survive restarts); else, in a cluster,
 * derived from `cluster.secret`, so a session set by one node passes on any
 * other that the domain moves to; else random at each start (a restart signs
 * everyone out, which is safe).
 */
export function createSsoGate(config: ServerConfig, log: Logger): SsoGate {
  const entries = config.sso.map((s, i) => ({
    domains: s.domains.map((d) => domainGlob(d)),
    policy: makeSsoPolicy({
      issuer: s.issuer,
      clientId: s.clientID,
      clientSecret: s.clientSecret,
      allowedEmails: s.allowedEmails,
      allowedDomains: s.allowedDomains,
      sessionSeconds: s.sessionSeconds,
      emailHeader: s.emailHeader,
      source: `sso[${i}]`,
    }),
  }));
  const secret =
    config.ssoCookieSecret !== ''
      ? Buffer.from(config.ssoCookieSecret, 'utf8')
      : config.cluster.redis !== ''
        ? createHmac('sha256', config.cluster.secret).update('burrow sso cookie key').digest()
        : randomBytes(32);
  return new SsoGate(entries, secret, log);
}
