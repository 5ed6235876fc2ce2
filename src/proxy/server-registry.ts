import type { ProxyType } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';
import { createHttpServerProxy } from './http/server.js';
import { createHttpsServerProxy } from './https/server.js';
import type { ProxyOwner, ServerProxyContext } from './server-context.js';
import { createSecretServerProxy } from './shared/secret-server.js';
import { createTcpServerProxy } from './tcp/server.js';
import { createTcpmuxServerProxy } from './tcpmux/server.js';
import type { ServerProxy } from './types.js';
import { createUdpServerProxy } from './udp/server.js';
import { createXtcpServerProxy } from './xtcp/server.js';

/** The public half the server builds from a NewProxy; throws BURROW_PROXY_REJECTED with the reason. */
export type ServerHalf = (ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy) => ServerProxy | Promise<ServerProxy>;

/**
 * The server half of every proxy type (a type missing here does not
 * compile). Apart from client-registry.ts so that a server never loads the
 * client halves (their plugins, hole punching, the inspector) and a client
 * never loads the vhosts: each process pays for its own side only.
 */
const SERVER_HALVES: Readonly<Record<ProxyType, ServerHalf>> = {
  tcp: createTcpServerProxy,
  // udp: the server keeps one work connection per proxy, so a new one replaces the old
  udp: createUdpServerProxy,
  http: createHttpServerProxy,
  https: createHttpsServerProxy,
  tcpmux: createTcpmuxServerProxy,
  stcp: (ctx, owner, name, msg) => createSecretServerProxy('stcp', ctx, owner, name, msg),
  sudp: (ctx, owner, name, msg) => createSecretServerProxy('sudp', ctx, owner, name, msg),
  xtcp: (_ctx, owner, name, msg) => createXtcpServerProxy(owner, name, msg),
};

/** The server half of `type` as it comes off the wire; undefined for a type burrow does not know. */
export function serverHalfOf(type: string): ServerHalf | undefined {
  return Object.hasOwn(SERVER_HALVES, type) ? SERVER_HALVES[type as ProxyType] : undefined;
}
