import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/types.js';
import type { PortShare } from '../transport/port-share.js';

/**
 * Which vhosts share the bind port, by frp's rule: the port equal to
 * bindPort and proxyBindAddr equal to bindAddr (with different addresses,
 * each opens its own listener, as in frps).
 */
export function sharedVhosts(config: ServerConfig): { http: boolean; https: boolean } {
  const sameAddr = config.bindAddr === config.proxyBindAddr;
  const shares = (port: number): boolean => sameAddr && port > 0 && port === config.bindPort;
  return { http: shares(config.vhostHTTPPort), https: shares(config.vhostHTTPSPort) };
}

/** What the bind port's listener hands over to the vhosts that share it; undefined when none does. */
export function bindPortShare(config: ServerConfig, accept: (kind: 'http' | 'https', socket: Socket) => void): PortShare<Socket> | undefined {
  const shared = sharedVhosts(config);
  if (!shared.http && !shared.https) return undefined;
  return {
    ...(shared.http ? { http: (s: Socket) => accept('http', s) } : {}),
    ...(shared.https ? { https: (s: Socket) => accept('https', s) } : {}),
  };
}
