import type { ProxyConfig, ProxyType, VisitorConfig, VisitorType } from '../config/types.js';
import type { ClientProxyContext, VisitorContext } from './client-context.js';
import { createTcpClientProxy } from './shared/tcp-client.js';
import { createUdpClientProxy } from './shared/udp-client.js';
import { StcpVisitor } from './stcp/visitor.js';
import { SudpVisitor } from './sudp/visitor.js';
import type { ClientProxyHandler, ClientVisitor } from './types.js';
import { createXtcpOwnerProxy } from './xtcp/client.js';
import { XtcpVisitor } from './xtcp/visitor.js';

/** The private half the client runs for a configured proxy. */
type ClientHalf = (p: ProxyConfig, ctx: ClientProxyContext) => ClientProxyHandler;

/**
 * The client half of every proxy type (a type missing here does not
 * compile; server-registry.ts holds the other half). Byte-stream types share
 * the half that joins a work connection to a fresh local TCP connection; udp
 * and sudp carry UDPPacket frames instead; xtcp work connections only bring
 * hole-punching sessions.
 */
const CLIENT_HALVES: Readonly<Record<ProxyType, ClientHalf>> = {
  tcp: createTcpClientProxy,
  udp: (p, ctx) => createUdpClientProxy(p, ctx, true),
  http: createTcpClientProxy,
  https: createTcpClientProxy,
  tcpmux: createTcpClientProxy,
  stcp: createTcpClientProxy,
  // sudp: one work connection per visitor connection, all served at once
  sudp: (p, ctx) => createUdpClientProxy(p, ctx, false),
  xtcp: createXtcpOwnerProxy,
};

/** The visiting side of each secret proxy type, on another client. */
const VISITOR_KINDS: Readonly<Record<VisitorType, (config: VisitorConfig, ctx: VisitorContext) => ClientVisitor>> = {
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

/** Proxy types this client runs; the others are reported as not supported. */
export const CLIENT_PROXY_TYPES: ReadonlySet<string> = new Set(Object.keys(CLIENT_HALVES));

/** The client half for one configured proxy of a type in CLIENT_PROXY_TYPES. */
export function createProxyHandler(p: ProxyConfig, ctx: ClientProxyContext): ClientProxyHandler {
  return CLIENT_HALVES[p.type](p, ctx);
}

/** The visitor for one configured visitor; undefined for a type burrow does not know. */
export function createVisitor(config: VisitorConfig, ctx: VisitorContext): ClientVisitor | undefined {
  return Object.hasOwn(VISITOR_KINDS, config.type) ? VISITOR_KINDS[config.type](config, ctx) : undefined;
}
