import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../util/errors.js';
import { relay } from '../relay/pipe.js';
import { DIAL_TIMEOUT_MS } from './limits.js';
import type { ConnectionInfo, PluginContext } from './types.js';

/**
 * Dials `options` and, once connected, writes the PROXY header and relays;
 * a failed dial closes the work connection. Used by unix_domain_socket and tls2raw.
 */
export function joinToLocal(conn: Duplex, options: net.NetConnectOpts, info: ConnectionInfo, context: PluginContext, what: string): void {
  const local = net.connect({ ...options, allowHalfOpen: true });
  const timer = setTimeout(() => local.destroy(new Error(`timed out after ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS);
  const onDialError = (err: Error): void => {
    clearTimeout(timer);
    context.logger.warn(`${what}: cannot reach the local service`, { proxy: context.proxyName, reason: describeError(err) });
    conn.destroy();
  };
  local.once('error', onDialError);
  conn.once('close', () => {
    if (local.connecting) local.destroy();
  });
  local.once('connect', () => {
    clearTimeout(timer);
    local.off('error', onDialError);
    if (info.proxyProtocolHeader) local.write(info.proxyProtocolHeader);
    void relay(conn, local);
  });
}
