import type { NewProxy } from '../../protocol/messages.js';
import { BurrowError } from '../../util/errors.js';
import type { ProxyOwner, ServerProxyContext } from '../server-context.js';
import { DomainRoutedProxy } from '../shared/domain-routed.js';
import type { ServerProxy } from '../types.js';

/**
 * The server half of an `https` NewProxy: routes by TLS server name in the
 * server's HTTPS vhost, which relays the whole TLS stream unopened.
 */
export function createHttpsServerProxy(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy {
  const vhost = ctx.httpsVhost;
  if (!vhost) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no https proxies (vhostHTTPSPort is not set)`);
  }
  return new DomainRoutedProxy({
    type: 'https',
    name,
    msg,
    router: vhost.router,
    port: vhost.port,
    defaultPort: 443,
    subDomainHost: ctx.subDomainHost,
    user: owner.user,
    payload: ctx.payloadOptions(msg, owner),
    getWorkConn: () => owner.getWorkConn(),
    admitUser: ctx.userConnCheck(owner, name, 'https', msg),
  });
}
