import { readFileSync } from 'node:fs';
import type { ClientConfig } from '../../config/types.js';
import { boundedHttpRequest } from '../../transport/http-request.js';
import { BurrowError } from '../../util/errors.js';

/** One token request, connect to last byte (Go's default client, which frp uses, waits forever). */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
/** A token answer is a few KiB at most. */
const TOKEN_MAX_BYTES = 256 * 1024;
/** As Go's oauth2: a token this close to its expiry is fetched again rather than sent. */
const EXPIRY_MARGIN_MS = 10_000;

type OidcClientConfig = ClientConfig['auth']['oidc'];

/** How the client id and secret travel; Go's oauth2 tries the header first and keeps whichever the endpoint took. */
enum CredentialStyle {
  Unknown = 'unknown',
  BasicHeader = 'basic header',
  FormBody = 'form body',
}

/**
 * The OAuth 2.0 client-credentials grant, as frpc runs it (Go's
 * clientcredentials): one POST to `auth.oidc.tokenEndpointURL` with
 * grant_type, scope, audience and additionalEndpointParams; the access token
 * is reused until 10 s before `expires_in` runs out. An endpoint that sends no
 * `expires_in` is asked again for every token, as frp does, since a token
 * kept without knowing its life would go stale.
 */
export class OidcClientCredentials {
  private style = CredentialStyle.Unknown;
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly ca: Buffer | undefined;

  constructor(private readonly cfg: OidcClientConfig) {
    // Read once, as frp builds its HTTP client once; a missing file stops the start with the key named.
    try {
      this.ca = cfg.trustedCaFile && !cfg.insecureSkipVerify ? readFileSync(cfg.trustedCaFile) : undefined;
    } catch (err) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `auth.oidc.trustedCaFile: cannot read ${JSON.stringify(cfg.trustedCaFile)}`, { cause: err });
    }
  }

  /** A valid access token; concurrent callers share one request. */
  token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.expiresAt - EXPIRY_MARGIN_MS) return Promise.resolve(this.cached.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    if (this.style !== CredentialStyle.Unknown) return this.request(this.style);
    try {
      const token = await this.request(CredentialStyle.BasicHeader);
      this.style = CredentialStyle.BasicHeader;
      return token;
    } catch (headerErr) {
      // An endpoint that wants the secret in the body refuses the header; one that is down refuses both.
      const token = await this.request(CredentialStyle.FormBody).catch(() => {
        throw headerErr;
      });
      this.style = CredentialStyle.FormBody;
      return token;
    }
  }

  private async request(style: CredentialStyle): Promise<string> {
    const { cfg } = this;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (cfg.scope !== '') form.set('scope', cfg.scope);
    for (const [k, v] of Object.entries(cfg.additionalEndpointParams)) form.set(k, v);
    if (cfg.audience !== '') form.set('audience', cfg.audience);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (style === CredentialStyle.BasicHeader) {
      // RFC 6749 §2.3.1: each part form-encoded before base64, as Go's oauth2 does.
      const pair = `${formEncode(cfg.clientID)}:${formEncode(cfg.clientSecret)}`;
      headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', cfg.clientID);
      if (cfg.clientSecret !== '') form.set('client_secret', cfg.clientSecret);
    }
    const res = await boundedHttpRequest({
      url: cfg.tokenEndpointURL,
      method: 'POST',
      headers,
      body: form.toString(),
      timeoutMs: TOKEN_REQUEST_TIMEOUT_MS,
      maxBytes: TOKEN_MAX_BYTES,
      proxyURL: cfg.proxyURL,
      ca: this.ca,
      insecureSkipVerify: cfg.insecureSkipVerify,
    });
    const fields = parseTokenAnswer(res.body.toString('utf8'), String(res.headers['content-type'] ?? ''));
    if (res.status < 200 || res.status > 299) {
      const what =
        typeof fields.error === 'string' ? `: ${fields.error}${typeof fields.error_description === 'string' ? ` (${fields.error_description})` : ''}` : '';
      throw new BurrowError('BURROW_OIDC_FAILED', `the token endpoint answered ${res.status}${what.slice(0, 300)}`);
    }
    const token = fields.access_token;
    if (typeof token !== 'string' || token === '') throw new BurrowError('BURROW_OIDC_FAILED', 'the token endpoint answered without access_token');
    const expiresIn = Number(fields.expires_in ?? 0);
    this.cached = Number.isFinite(expiresIn) && expiresIn > 0 ? { token, expiresAt: Date.now() + expiresIn * 1000 } : undefined;
    return token;
  }
}

/** Go's url.QueryEscape: everything but letters, digits and -_.~ percent-encoded, a space as "+". */
function formEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** JSON, or (as Go's oauth2 accepts from some providers) a form-encoded body. */
function parseTokenAnswer(text: string, contentType: string): Record<string, unknown> {
  if (/application\/x-www-form-urlencoded|text\/plain/.test(contentType)) return Object.fromEntries(new URLSearchParams(text));
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
