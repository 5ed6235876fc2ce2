import type { ProxyConfig } from '../config/types.js';
import { TcpClientProxy, type TcpClientProxyOptions } from '../proxy/tcp.js';
import type { ClientProxyHandler } from '../proxy/types.js';
import { UdpClientProxy } from '../proxy/udp.js';
import type { Logger } from '../util/logger.js';

/** Proxy types this client runs; the others are reported as not supported. */
export const CLIENT_PROXY_TYPES: ReadonlySet<string> = new Set(['tcp', 'http', 'https', 'tcpmux', 'udp', 'stcp', 'sudp']);

/**
 * The client half for one configured proxy. Byte-stream types (tcp, the
 * vhost types, stcp) all join a work connection to a fresh local TCP
 * connection (`observe` sees those of an inspected http proxy); udp and sudp
 * carry UDPPacket frames instead.
 */
export function createProxyHandler(p: ProxyConfig, cipherKey: Buffer, logger: Logger, observe?: TcpClientProxyOptions['observe']): ClientProxyHandler {
  const payload = { encryptionKey: p.transport.useEncryption ? cipherKey : undefined, compression: p.transport.useCompression };
  const common = { name: p.name, localIP: p.localIP, localPort: p.localPort, payload, logger };
  switch (p.type) {
    case 'udp':
      return new UdpClientProxy({ ...common, oneStreamAtATime: true });
    case 'sudp':
      return new UdpClientProxy({ ...common, oneStreamAtATime: false });
    default:
      return new TcpClientProxy({ ...common, ...(observe ? { observe } : {}) });
  }
}
