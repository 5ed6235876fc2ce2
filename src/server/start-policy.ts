import type { ServerConfig } from '../config/types.js';
import { BurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

/** Addresses only this machine can reach. */
function loopbackAddr(addr: string): boolean {
  const a = addr.toLowerCase().replace(/^\[|\]$/g, '');
  return a === 'localhost' || a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * Refuses settings that leave a reachable server open to anyone, and warns
 * about those that merely widen what a client may do. Unlike frp, which
 * starts with an empty token wherever it listens.
 */
export function checkStartPolicy(config: ServerConfig, log: Logger): void {
  const { auth, bindAddr, bindPort } = config;
  // With [[users]] listed (or a users file named, even empty) and no auth.token, only the listed users log in: not an open server.
  if (auth.method === 'token' && auth.token === '' && config.users.length === 0 && config.usersFile === '' && !loopbackAddr(bindAddr)) {
    if (!auth.allowEmptyToken) {
      throw new BurrowError(
        'BURROW_CONFIG_INVALID',
        `auth.token is empty and the server listens on ${bindAddr}:${bindPort}, so anyone who reaches it can open tunnels here. ` +
          'Set auth.token (clients use the same), or accept an open server with auth.allowEmptyToken = true (burrow server --allow-empty-token)',
      );
    }
    log.warn('auth.token is empty: any client that reaches this server can log in (auth.allowEmptyToken is set)', { addr: `${bindAddr}:${bindPort}` });
  }
  if (config.allowPorts.length === 0) {
    log.warn('allowPorts is empty: clients may open any port on this machine; limit them with allowPorts, e.g. [{ start = 20000, end = 20999 }]');
  }
}
