import type { NewProxy } from '../../protocol/messages.js';
import { BurrowError } from '../../util/errors.js';
import type { ProxyOwner, ServerProxyContext } from '../server-context.js';

/** The remote port a tcp/udp NewProxy asks for, checked against the range and maxPortsPerClient. */
export function requestedPort(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): number {
  const port = msg.remote_port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": remote port ${port} is out of range 0–65535`);
  }
  const max = ctx.maxPortsPerClient;
  if (max > 0 && owner.portsUsed + 1 > max) {
    throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": this client already uses its ${max} allowed port(s)`);
  }
  return port;
}
