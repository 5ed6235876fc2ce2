import type { NewProxy } from '../../protocol/messages.js';
import type { Account } from './account.js';

/** Types whose public side is a port (checked against allowPorts) and those routed by domain (allowDomains). */
const PORT_TYPES = new Set(['tcp', 'udp']);
const DOMAIN_TYPES = new Set(['http', 'https', 'tcpmux']);

/**
 * Why a listed user may not register this proxy, with the user's name (the
 * client logs it from NewProxyResp); undefined when it may. Port 0 (any
 * port) is not refused here: the port picked for it is drawn from the
 * user's allowPorts.
 * - names: a client with `user` set sends `user.name` (frpc and burrow
 *   alike), so a name outside the user's prefix is another's, or forged;
 * - maxProxies counts over all of the user's clients (`registered`).
 */
export function registrationRefusal(
  account: Account,
  msg: NewProxy,
  name: string,
  type: string,
  registered: number,
  subDomainHost: string,
): string | undefined {
  const who = `user [${account.name}]`;
  if (!name.startsWith(`${account.name}.`)) return `${who}: proxy name "${name}" is not under "${account.name}."`;
  if (account.maxProxies > 0 && registered >= account.maxProxies) return `${who}: maxProxies ${account.maxProxies} reached`;
  if (PORT_TYPES.has(type)) {
    const port = msg.remote_port ?? 0;
    if (port !== 0 && !account.portAllowed(port)) return `${who}: port ${port} is not in this user's allowPorts`;
  }
  if (DOMAIN_TYPES.has(type)) {
    const domains = [...(msg.custom_domains ?? [])];
    if (msg.subdomain) domains.push(subDomainHost ? `${msg.subdomain}.${subDomainHost}` : msg.subdomain);
    for (const d of domains) if (!account.domainAllowed(d)) return `${who}: domain "${d}" is not in this user's allowDomains`;
  }
  return undefined;
}
