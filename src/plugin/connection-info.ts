import type { ProxyProtocolVersion } from '../protocol/proxy-protocol.js';
import { encodeProxyProtocolHeader } from '../protocol/proxy-protocol.js';
import type { StartWorkConn } from '../protocol/messages.js';
import { visitorAddress } from '../util/address.js';
import type { ConnectionInfo } from './types.js';

/**
 * ConnectionInfo from a StartWorkConn, as frp builds it: addresses only when
 * both src_addr and src_port are set, the destination defaulting to
 * 127.0.0.1, and a PROXY protocol header only when the proxy asks for one.
 */
export function connectionInfoFromStart(start: StartWorkConn, proxyProtocolVersion?: ProxyProtocolVersion): ConnectionInfo {
  const srcAddr = visitorAddress(start.src_addr);
  const srcPort = start.src_port ?? 0;
  if (srcAddr === '' || srcPort === 0) return {};
  const source = { address: srcAddr, port: srcPort };
  const destination = { address: visitorAddress(start.dst_addr) || '127.0.0.1', port: start.dst_port ?? 0 };
  const header = proxyProtocolVersion ? encodeProxyProtocolHeader(proxyProtocolVersion, source, destination) : undefined;
  return header ? { source, destination, proxyProtocolHeader: header } : { source, destination };
}
