import type { ProxyConfig } from '../../config/types.js';
import { bandwidthBytes } from '../../protocol/bandwidth-quantity.js';
import type { ProxyProtocolVersion } from '../../protocol/proxy-protocol.js';
import { BandwidthLimiter } from '../../relay/bandwidth-limit.js';
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
  /** transport.proxyProtocolVersion: a PROXY header goes to the local service first */
  proxyProtocolVersion?: ProxyProtocolVersion;
  /** transport.bandwidthLimit in "client" mode: one bucket for all the proxy's work connections */
  limiter?: BandwidthLimiter;
}

export function localServiceOf(p: ProxyConfig, ctx: ClientProxyContext): LocalServiceOptions {
  const payload = { encryptionKey: p.transport.useEncryption ? ctx.cipherKey : undefined, compression: p.transport.useCompression };
  const limiter = clientBandwidthLimiter(p);
  const ppv = p.transport.proxyProtocolVersion;
  return {
    name: p.name,
    localIP: p.localIP,
    localPort: p.localPort,
    payload,
    logger: ctx.logger,
    ...(ppv === 'v1' || ppv === 'v2' ? { proxyProtocolVersion: ppv } : {}),
    ...(limiter ? { limiter } : {}),
  };
}

/**
 * The proxy's limiter when it limits on the client, as frp: a limit above 0
 * with mode "client" (the default). Mode "server" is sent in NewProxy for
 * the server to enforce.
 */
export function clientBandwidthLimiter(p: ProxyConfig): BandwidthLimiter | undefined {
  const t = p.transport;
  if (t.bandwidthLimit === undefined || (t.bandwidthLimitMode ?? 'client') !== 'client') return undefined;
  const bytes = bandwidthBytes(t.bandwidthLimit);
  return bytes > 0 ? new BandwidthLimiter(bytes) : undefined;
}
