import type { ProxyConfig, ProxyType, VisitorConfig, VisitorType } from '../config/types.js';
import type { NewProxy } from '../protocol/messages.js';
import type { ClientProxyContext, VisitorContext } from './client-context.js';
import { createHttpServerProxy } from './http/server.js';
import { createHttpsServerProxy } from './https/server.js';
import type { ProxyOwner, ServerProxyContext } from './server-context.js';
import { createSecretServerProxy } from './shared/secret-server.js';
import { createTcpClientProxy } from './shared/tcp-client.js';
import { createUdpClientProxy } from './shared/udp-client.js';
import { StcpVisitor } from './stcp/visitor.js';
import { SudpVisitor } from './sudp/visitor.js';
import { createTcpServerProxy } from './tcp/server.js';
import { createTcpmuxServerProxy } from './tcpmux/server.js';
import type { ClientProxyHandler, ClientVisitor, ServerProxy } from './types.js';
import { createUdpServerProxy } from './udp/server.js';
import { createXtcpOwnerProxy } from './xtcp/client.js';
import { createXtcpServerProxy } from './xtcp/server.js';
import { XtcpVisitor } from './xtcp/visitor.js';

/** The two halves of one proxy type. */
export interface ProxyKind {
  /** the public half the server builds from a NewProxy; throws BURROW_PROXY_REJECTED with the reason */
  server(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): ServerProxy | Promise<ServerProxy>;
  /** the private half the client runs for a configured proxy */
  client(p: ProxyConfig, ctx: ClientProxyContext): ClientProxyHandler;
}

/**
 * Every proxy type and where its halves live: the one list of types (a type
 * without both halves does not compile). Byte-stream types share the client
 * half that joins a work connection to a fresh local TCP connection; udp
 * and sudp carry UDPPacket frames instead; xtcp work connections only bring
 * hole-punching sessions.
 */
export const PROXY_KINDS: Readonly<Record<ProxyType, ProxyKind>> = {
  tcp: { server: createTcpServerProxy, client: createTcpClientProxy },
  // udp: the server keeps one work connection per proxy, so a new one replaces the old
  udp: { server: createUdpServerProxy, client: (p, ctx) => createUdpClientProxy(p, ctx, true) },
  http: { server: createHttpServerProxy, client: createTcpClientProxy },
  https: { server: createHttpsServerProxy, client: createTcpClientProxy },
  tcpmux: { server: createTcpmuxServerProxy, client: createTcpClientProxy },
  stcp: { server: (ctx, owner, name, msg) => createSecretServerProxy('stcp', ctx, owner, name, msg), client: createTcpClientProxy },
  // sudp: one work connection per visitor connection, all served at once
  sudp: { server: (ctx, owner, name, msg) => createSecretServerProxy('sudp', ctx, owner, name, msg), client: (p, ctx) => createUdpClientProxy(p, ctx, false) },
  xtcp: { server: (_ctx, owner, name, msg) => createXtcpServerProxy(owner, name, msg), client: createXtcpOwnerProxy },
};

/** The visiting side of each secret proxy type, on another client. */
export const VISITOR_KINDS: Readonly<Record<VisitorType, (config: VisitorConfig, ctx: VisitorContext) => ClientVisitor>> = {
  stcp: (config, ctx) => new StcpVisitor(config, ctx.link, ctx.log),
  sudp: (config, ctx) => new SudpVisitor(config, ctx.link, ctx.log),
  xtcp: (config, ctx) => {
    // fallbackTo names an stcp visitor of this client, looked up when needed (reloads replace it).
    const fallback = (): StcpVisitor | undefined => {
      const v = config.fallbackTo ? ctx.find(config.fallbackTo) : undefined;
      return v instanceof StcpVisitor ? v : undefined;
    };
    return new XtcpVisitor(config, ctx.link, fallback, ctx.log);
  },
};

/** The halves of `type` as it comes off the wire or from a config; undefined for a type burrow does not know. */
export function proxyKindOf(type: string): ProxyKind | undefined {
  return Object.hasOwn(PROXY_KINDS, type) ? PROXY_KINDS[type as ProxyType] : undefined;
}

/** Proxy types this client runs; the others are reported as not supported. */
export const CLIENT_PROXY_TYPES: ReadonlySet<string> = new Set(Object.keys(PROXY_KINDS));

/** The client half for one configured proxy of a type in CLIENT_PROXY_TYPES. */
export function createProxyHandler(p: ProxyConfig, ctx: ClientProxyContext): ClientProxyHandler {
  return PROXY_KINDS[p.type].client(p, ctx);
}

/** The visitor for one configured visitor; undefined for a type burrow does not know. */
export function createVisitor(config: VisitorConfig, ctx: VisitorContext): ClientVisitor | undefined {
  return Object.hasOwn(VISITOR_KINDS, config.type) ? VISITOR_KINDS[config.type](config, ctx) : undefined;
}
