import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { VisitorConfig } from '../../config/types.js';
import { BurrowError, describeError } from '../../util/errors.js';
import { withRelayBuffers } from '../../util/socket-buffers.js';

/**
 * The local TCP port of an stcp or xtcp visitor (`bindAddr:bindPort`), or
 * undefined when bindPort is not positive (a visitor that only takes
 * connections handed over by another). A taken port is BURROW_LISTEN_FAILED
 * with the visitor and the address named.
 */
export async function listenVisitorPort(config: VisitorConfig, onConnection: (socket: Socket) => void): Promise<Server | undefined> {
  const { bindAddr, bindPort, name } = config;
  if (bindPort <= 0) return undefined;
  const server = createServer(withRelayBuffers({ allowHalfOpen: true, noDelay: true }), onConnection);
  server.listen({ host: bindAddr, port: bindPort, exclusive: true });
  try {
    await once(server, 'listening');
  } catch (err) {
    throw new BurrowError('BURROW_LISTEN_FAILED', `visitor "${name}" cannot listen on ${bindAddr}:${bindPort}: ${describeError(err)}`);
  }
  // Accept failures (too many open files) drop that one connection; unheard, they would end the process.
  server.on('error', () => {});
  return server;
}
