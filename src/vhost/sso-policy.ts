import { createHash } from 'node:crypto';

/**
 * One OIDC login in front of http routes (docs/sso.md): a proxy's own
 * (`[proxies.sso]`, from NewProxy's `burrow_sso`) or a server `[[sso]]`
 * table's. Plain data, built once when the proxy registers or the server
 * starts; the server's SSO gate (src/server/sso/) acts on it.
 */
/**
 * Every cookie of the SSO gate starts with this. The vhost removes them from
 * every request it sends upstream, guarded or not: another location or
 * proxy on the same host would otherwise receive a session it could replay.
 */
export const SSO_COOKIE_PREFIX = 'burrow_sso';

export interface SsoPolicy {
  /** names its cookies: the same issuer and client id give the same id, so a re-registration keeps the sessions */
  readonly id: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** lower-cased */
  readonly allowedEmails: ReadonlySet<string>;
  /** lower-cased, without "@" */
  readonly allowedDomains: ReadonlySet<string>;
  readonly sessionSeconds: number;
  readonly emailHeader: string;
  /** for log lines: `sso[0]` or `proxy "name"` */
  readonly source: string;
}

export interface SsoPolicyInput {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowedEmails: readonly string[];
  allowedDomains: readonly string[];
  sessionSeconds: number;
  emailHeader: string;
  source: string;
}

export function makeSsoPolicy(input: SsoPolicyInput): SsoPolicy {
  const id = createHash('sha256').update(`${input.issuer}\n${input.clientId}`).digest('hex').slice(0, 12);
  return Object.freeze({
    ...input,
    id,
    allowedEmails: new Set(input.allowedEmails.map(asciiLower)),
    allowedDomains: new Set(input.allowedDomains.map(asciiLower)),
  });
}

/**
 * Printable ASCII only: the address goes upstream in a header written
 * byte-per-char (U+010D U+010A would become CR LF), and a full Unicode
 * lower-casing would fold lookalikes (the Kelvin sign to `k`) onto allowed
 * addresses.
 */
const USABLE_EMAIL = /^[\x21-\x3f\x41-\x7e]{1,128}@[\x21-\x3f\x41-\x7e]{1,253}$/;

/** Whether an address an issuer vouched for is one the gate can compare and pass on (see USABLE_EMAIL). */
export function usableEmail(email: string): boolean {
  return USABLE_EMAIL.test(email);
}

/** A-Z to a-z and nothing else. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Whether a signed-in address may pass: listed itself, or its domain is (exact match, no subdomains, ASCII case ignored). */
export function emailAllowed(policy: SsoPolicy, email: string): boolean {
  if (!usableEmail(email)) return false;
  const address = asciiLower(email);
  if (policy.allowedEmails.has(address)) return true;
  const at = address.lastIndexOf('@');
  return at > 0 && policy.allowedDomains.has(address.slice(at + 1));
}
