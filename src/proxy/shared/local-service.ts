import type { ProxyConfig } from '../../config/types.js';
import type { Logger } from '../../util/logger.js';
import type { ClientProxyContext } from '../client-context.js';
import type { PayloadTransformOptions } from '../payload-transform.js';

/** What a client half that relays to the local service is built from. */
export interface LocalServiceOptions {
  name: string;
  localIP: string;
  localPort: number;
  /** the proxy's own transforms on its work connections (key from the token) */
  payload: PayloadTransformOptions;
  logger: Logger;
  /** frp's `udpPacketSize` (udp and sudp only) */
  udpPacketSize: number;
}

export function localServiceOf(p: ProxyConfig, ctx: ClientProxyContext): LocalServiceOptions {
  const payload = { encryptionKey: p.transport.useEncryption ? ctx.cipherKey : undefined, compression: p.transport.useCompression };
  return { name: p.name, localIP: p.localIP, localPort: p.localPort, payload, logger: ctx.logger, udpPacketSize: ctx.udpPacketSize };
}
