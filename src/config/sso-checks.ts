import { domainGlob } from './account-terms.js';
import type { ProblemSink } from './schema-engine.js';
import type { ProxyConfig, ServerConfig } from './types.js';

/** Entries per allowed list (and domains per `[[sso]]`): each request is checked against them. */
export const SSO_MAX_LIST = 1024;

/**
 * Headers the email header may not be: they carry routing, framing, the
 * connection's state or credentials, and a service must be able to trust
 * that the header it reads was set by the server.
 */
const RESERVED_HEADERS = new Set([
  'host',
  'cookie',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
  'authorization',
  'proxy-authorization',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'forwarded',
]);

type Provider = NonNullable<ProxyConfig['sso']>;

/** The provider keys of a proxy's `sso` or of one `[[sso]]`, each error at its key under `at`. */
export function checkSsoProvider(s: Provider, at: string, error: ProblemSink): void {
  if (!/^https?:\/\/[^/]/.test(s.issuer) || !URL.canParse(s.issuer)) error(`${at}.issuer`, `must be an http or https URL, got "${s.issuer}"`);
  if (s.clientID === '') error(`${at}.clientID`, 'must not be empty');
  if (s.clientSecret === '') error(`${at}.clientSecret`, 'must not be empty');
  // Without a list anyone the issuer knows would pass: with a public issuer that is anyone at all.
  if (s.allowedEmails.length === 0 && s.allowedDomains.length === 0) {
    error(`${at}.allowedEmails`, 'set allowedEmails or allowedDomains (or both): who may pass once signed in');
  }
  for (const [key, list] of [
    ['allowedEmails', s.allowedEmails],
    ['allowedDomains', s.allowedDomains],
  ] as const) {
    if (list.length > SSO_MAX_LIST) error(`${at}.${key}`, `at most ${SSO_MAX_LIST} entries`);
  }
  s.allowedEmails.forEach((e, i) => {
    if (!/^[^@\s]+@[^@\s]+$/.test(e)) error(`${at}.allowedEmails[${i}]`, `"${e}" is not an email address`);
  });
  s.allowedDomains.forEach((d, i) => {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(d)) error(`${at}.allowedDomains[${i}]`, `"${d}" is not an email domain (e.g. "example.com", without "@")`);
  });
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s.emailHeader)) error(`${at}.emailHeader`, `"${s.emailHeader}" is not a header name`);
  else if (RESERVED_HEADERS.has(s.emailHeader.toLowerCase())) error(`${at}.emailHeader`, `"${s.emailHeader}" is reserved; choose another header`);
}

/** The server's `[[sso]]` tables and `ssoCookieSecret`. */
export function checkServerSso(cfg: ServerConfig, error: ProblemSink): void {
  if (cfg.ssoCookieSecret !== '' && cfg.ssoCookieSecret.length < 32) error('ssoCookieSecret', 'must be at least 32 characters');
  cfg.sso.forEach((s, i) => {
    const at = `sso[${i}]`;
    checkSsoProvider(s, at, error);
    if (s.domains.length === 0) error(`${at}.domains`, 'must name at least one domain');
    if (s.domains.length > SSO_MAX_LIST) error(`${at}.domains`, `at most ${SSO_MAX_LIST} entries`);
    s.domains.forEach((d, j) => {
      try {
        domainGlob(d);
      } catch (err) {
        error(`${at}.domains[${j}]`, err instanceof Error ? err.message : String(err));
      }
    });
  });
  if (cfg.sso.length > 0 && cfg.vhostHTTPPort === 0) error('sso', 'needs vhostHTTPPort: it protects http proxies');
}
