import type { ProxyConfig } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';

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
  };
  switch (p.type) {
    case 'tcp':
    case 'udp':
      msg.remote_port = p.remotePort;
      break;
    case 'http':
      Object.assign(msg, {
        custom_domains: p.customDomains,
        subdomain: p.subdomain,
        locations: p.locations,
        http_user: p.httpUser,
        http_pwd: p.httpPassword,
        host_header_rewrite: p.hostHeaderRewrite,
        headers: p.requestHeaders?.set,
        response_headers: p.responseHeaders?.set,
        route_by_http_user: p.routeByHTTPUser,
      });
      break;
    case 'https':
      Object.assign(msg, { custom_domains: p.customDomains, subdomain: p.subdomain });
      break;
    case 'tcpmux':
      Object.assign(msg, {
        custom_domains: p.customDomains,
        subdomain: p.subdomain,
        multiplexer: p.multiplexer,
        http_user: p.httpUser,
        http_pwd: p.httpPassword,
        route_by_http_user: p.routeByHTTPUser,
      });
      break;
    case 'stcp':
    case 'sudp':
    case 'xtcp':
      Object.assign(msg, { sk: p.secretKey, allow_users: p.allowUsers });
      break;
  }
  for (const key of Object.keys(msg) as Array<keyof NewProxy>) if (msg[key] === undefined) delete msg[key];
  return msg;
}
