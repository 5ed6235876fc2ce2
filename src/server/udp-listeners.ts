import type { ServerConfig } from '../config/types.js';
import { getTransport, type AcceptedConnection, type AcceptedSession, type ListenOptions, type TransportListener } from '../transport/index.js';
import type { Logger } from '../util/logger.js';

/**
 * The UDP ports beside bindPort, as frps: kcpBindPort (KCP sessions, which
 * then look like TCP connections) and quicBindPort (QUIC connections, handed
 * out as sessions of streams). Being UDP, either may share bindPort's number.
 */
export interface UdpListeners {
  kcp?: TransportListener;
  quic?: TransportListener;
}

/** Opens what the config asks for; on a failure, closes what it opened and throws. */
export async function openUdpListeners(
  config: ServerConfig,
  options: ListenOptions,
  onConnection: (conn: AcceptedConnection | AcceptedSession) => void,
  log: Logger,
): Promise<UdpListeners> {
  const open: UdpListeners = {};
  try {
    if (config.kcpBindPort > 0) {
      open.kcp = await getTransport('kcp').listen({ ...options, port: config.kcpBindPort }, onConnection);
      log.info('kcp listening', { addr: `${config.bindAddr}:${open.kcp.port}` });
    }
    if (config.quicBindPort > 0) {
      const q = config.transport.quic;
      const quic = { keepalivePeriodMs: q.keepalivePeriod * 1000, maxIdleTimeoutMs: q.maxIdleTimeout * 1000, maxIncomingStreams: q.maxIncomingStreams };
      open.quic = await getTransport('quic').listen({ ...options, port: config.quicBindPort, quic }, onConnection);
      log.info('quic listening', { addr: `${config.bindAddr}:${open.quic.port}` });
    }
  } catch (err) {
    await closeUdpListeners(open);
    throw err;
  }
  return open;
}

export async function closeUdpListeners(l: UdpListeners): Promise<void> {
  await l.kcp?.close();
  await l.quic?.close();
}

export function udpConnectionCount(l: UdpListeners): number {
  return (l.kcp?.connectionCount ?? 0) + (l.quic?.connectionCount ?? 0);
}
