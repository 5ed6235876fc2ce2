import type { ProxyConfig } from '../config/types.js';
import { TcpClientProxy, type TcpClientProxyOptions } from '../proxy/tcp.js';
import type { ClientProxyHandler } from '../proxy/types.js';
import { UdpClientProxy } from '../proxy/udp.js';
import type { Logger } from '../util/logger.js';
import { XtcpOwnerProxy, type NatHoleLink } from './xtcp-owner.js';

/** Proxy types this client runs; the others are reported as not supported. */
export const CLIENT_PROXY_TYPES: ReadonlySet<string> = new Set(['tcp', 'http', 'https', 'tcpmux', 'udp', 'stcp', 'sudp', 'xtcp']);

export interface ProxyHandlerDeps {
  /** the key of per-proxy encryption toward the server (from the token) */
  cipherKey: Buffer;
  logger: Logger;
  /** the proxy's name on the wire (user-prefixed) */
  wireName: string;
  natHole: NatHoleLink;
  /** watches the connections of an inspected http proxy */
  observe?: TcpClientProxyOptions['observe'];
}

/**
 * The client half for one configured proxy. Byte-stream types (tcp, the
 * vhost types, stcp) all join a work connection to a fresh local TCP
 * connection; udp and sudp carry UDPPacket frames instead; xtcp work
 * connections only bring hole-punching sessions.
 */
export function createProxyHandler(p: ProxyConfig, deps: ProxyHandlerDeps): ClientProxyHandler {
  const { logger } = deps;
  const payload = { encryptionKey: p.transport.useEncryption ? deps.cipherKey : undefined, compression: p.transport.useCompression };
  const common = { name: p.name, localIP: p.localIP, localPort: p.localPort, payload, logger };
  switch (p.type) {
    case 'udp':
      return new UdpClientProxy({ ...common, oneStreamAtATime: true });
    case 'sudp':
      return new UdpClientProxy({ ...common, oneStreamAtATime: false });
    case 'xtcp':
      return new XtcpOwnerProxy({
        name: p.name,
        wireName: deps.wireName,
        localIP: p.localIP,
        localPort: p.localPort,
        secretKey: p.secretKey ?? '',
        useEncryption: p.transport.useEncryption,
        useCompression: p.transport.useCompression,
        disableAssistedAddrs: p.natTraversal?.disableAssistedAddrs === true,
        link: deps.natHole,
        logger,
      });
    default:
      return new TcpClientProxy({ ...common, ...(deps.observe ? { observe: deps.observe } : {}) });
  }
}
