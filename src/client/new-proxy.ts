import type { ProxyConfig, ProxyType } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';

const domains = (p: ProxyConfig): Partial<NewProxy> => ({ custom_domains: p.customDomains, subdomain: p.subdomain });
const secret = (p: ProxyConfig): Partial<NewProxy> => ({ sk: p.secretKey, allow_users: p.allowUsers });

/** The keys each proxy type adds to NewProxy; a type missing here does not compile. */
const TYPE_FIELDS: Readonly<Record<ProxyType, (p: ProxyConfig) => Partial<NewProxy>>> = {
  tcp: (p) => ({ remote_port: p.remotePort }),
  udp: (p) => ({ remote_port: p.remotePort }),
  http: (p) => ({
    ...domains(p),
    locations: p.locations,
    http_user: p.httpUser,
    http_pwd: p.httpPassword,
    host_header_rewrite: p.hostHeaderRewrite,
    headers: p.requestHeaders?.set,
    response_headers: p.responseHeaders?.set,
    route_by_http_user: p.routeByHTTPUser,
  }),
  https: domains,
  tcpmux: (p) => ({
    ...domains(p),
    multiplexer: p.multiplexer,
    http_user: p.httpUser,
    http_pwd: p.httpPassword,
    route_by_http_user: p.routeByHTTPUser,
  }),
  stcp: secret,
  sudp: secret,
  xtcp: secret,
};

/**
 * The NewProxy message for one configured proxy, with the keys frpc sends for
 * its type (FRP-PROTOCOL.md §3.4). Empty values are dropped by the encoder.
 */
export function newProxyMessage(p: ProxyConfig, wireName: string): NewProxy {
  const msg: NewProxy = {
    proxy_name: wireName,
    proxy_type: p.type,
    use_encryption: p.transport.useEncryption,
    use_compression: p.transport.useCompression,
    bandwidth_limit: p.transport.bandwidthLimit,
    bandwidth_limit_mode: p.transport.bandwidthLimitMode === 'server' ? 'server' : undefined,
    group: p.loadBalancer?.group,
    group_key: p.loadBalancer?.groupKey,
    metas: p.metadatas,
    annotations: p.annotations,
    burrow_allow_ips: p.allowIPs,
    burrow_deny_ips: p.denyIPs,
    burrow_sso: p.sso
      ? {
          issuer: p.sso.issuer,
          client_id: p.sso.clientID,
          client_secret: p.sso.clientSecret,
          allowed_emails: p.sso.allowedEmails,
          allowed_domains: p.sso.allowedDomains,
          session_seconds: p.sso.sessionSeconds,
          email_header: p.sso.emailHeader,
        }
      : undefined,
  };
  Object.assign(msg, TYPE_FIELDS[p.type](p));
  for (const key of Object.keys(msg) as Array<keyof NewProxy>) if (msg[key] === undefined) delete msg[key];
  return msg;
}
