/**
 * Which domains an http / https / tcpmux proxy may claim (FRP-PROTOCOL §7.3):
 * its custom domains plus `subdomain.subDomainHost`, checked against the
 * server's `subDomainHost`. The result is what the proxy registers in the
 * VhostRouter.
 */
import { BurrowError } from '../util/errors.js';

export interface ProxyDomainSettings {
  customDomains?: readonly string[];
  subdomain?: string;
}

const MAX_DOMAIN_LENGTH = 253;
/** Labels of letters, digits, `-`, `_`; a leading `*.` for wildcards; or the catch-all `*`. */
const DOMAIN = /^(\*|(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*)$/;

function reject(message: string): BurrowError {
  return new BurrowError('BURROW_PROXY_REJECTED', message);
}

function isUnder(domain: string, parent: string): boolean {
  return domain.endsWith(`.${parent}`);
}

/**
 * The lower-cased, de-duplicated domains a proxy routes, in configuration
 * order (custom domains first). Throws BURROW_PROXY_REJECTED with a readable
 * message: a subdomain while the server has no subDomainHost, a subdomain
 * with `.` or `*`, a custom domain under subDomainHost (use `subdomain`
 * instead), an invalid domain, or no domain at all.
 */
export function proxyDomains(settings: ProxyDomainSettings, subDomainHost: string): string[] {
  const host = subDomainHost.trim().toLowerCase();
  const domains: string[] = [];
  const add = (domain: string): void => {
    if (!domains.includes(domain)) domains.push(domain);
  };

  for (const raw of settings.customDomains ?? []) {
    const domain = raw.trim().toLowerCase();
    if (domain === '') throw reject('custom domain must not be empty');
    if (domain.length > MAX_DOMAIN_LENGTH || !DOMAIN.test(domain)) throw reject(`custom domain [${raw}] is not a valid domain name`);
    if (host !== '' && isUnder(domain, host)) {
      throw reject(`custom domain [${raw}] should not belong to subdomain host [${subDomainHost}]: use subdomain instead`);
    }
    add(domain);
  }

  const subdomain = (settings.subdomain ?? '').trim().toLowerCase();
  if (subdomain !== '') {
    if (host === '') throw reject('subdomain is not supported because this feature is not enabled in server (subDomainHost is not set)');
    if (subdomain.includes('.') || subdomain.includes('*')) throw reject(`'.' and '*' are not supported in subdomain [${settings.subdomain ?? ''}]`);
    const domain = `${subdomain}.${host}`;
    if (domain.length > MAX_DOMAIN_LENGTH || !DOMAIN.test(domain)) throw reject(`subdomain [${settings.subdomain ?? ''}] is not a valid domain label`);
    add(domain);
  }

  if (domains.length === 0) throw reject('subdomain and custom domains should not be both empty');
  return domains;
}
