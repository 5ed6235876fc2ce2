import type { NewProxy } from '../../protocol/messages.js';
import { BurrowError } from '../../util/errors.js';
import type { ProxyOwner, ServerProxyContext } from '../server-context.js';
import { DomainRoutedProxy } from '../shared/domain-routed.js';
import type { ServerProxy } from '../types.js';

/**
 * The server half of a `tcpmux` NewProxy: routes by the host of an HTTP
 * CONNECT in the server's tcpmux vhost (the `httpconnect` multiplexer, the
 * only one frp has).
 */
export function createTcpmuxServerProxy(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy {
  const vhost = ctx.tcpmuxVhost;
  if (!vhost) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this server serves no tcpmux proxies (tcpmuxHTTPConnectPort is not set)`);
  }
  if ((msg.multiplexer ?? 'httpconnect') !== 'httpconnect') {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": multiplexer "${msg.multiplexer ?? ''}" is not supported (only httpconnect)`);
  }
  return new DomainRoutedProxy({
    type: 'tcpmux',
    name,
    msg,
    router: vhost.router,
    port: vhost.port,
    // No default port: the remote address always names it.
    defaultPort: -1,
    subDomainHost: ctx.subDomainHost,
    user: owner.user,
    payload: ctx.payloadOptions(msg, owner),
    getWorkConn: () => owner.getWorkConn(),
    admitUser: ctx.userConnCheck(owner, name, 'tcpmux', msg),
  });
}
