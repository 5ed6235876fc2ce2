import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { UDP_RECV_BUFFER } from '../util/socket-buffers.js';
import { discoverMappedAddresses } from './stun.js';

/** One side's UDP socket for a hole-punching attempt, and the addresses the other side should try. */
export interface PunchEndpoint {
  readonly socket: Socket;
  /** as the world sees the socket (STUN, and the server's OTHER-ADDRESS as frp asks it); empty when the STUN server did not answer */
  readonly mappedAddrs: string[];
  /** the socket's port on this machine's own IPv4 addresses (peers on the same network) */
  readonly assistedAddrs: string[];
}

/** This machine's IPv4 addresses other hosts can reach (not loopback). */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/**
 * Binds a fresh udp4 socket and learns its addresses: the STUN-mapped one
 * (frp's `natHoleStunServer`) and, unless disabled, the local ones. A STUN
 * server that does not answer is logged, not fatal: the local addresses may
 * still reach a peer on the same network.
 */
export async function preparePunchEndpoint(stunServer: string, disableAssistedAddrs: boolean, log: Logger): Promise<PunchEndpoint> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_RECV_BUFFER });
  socket.bind(0, '0.0.0.0');
  await once(socket, 'listening');
  socket.on('error', () => {});
  const port = socket.address().port;
  const mappedAddrs: string[] = [];
  try {
    mappedAddrs.push(...(await discoverMappedAddresses(socket, stunServer)));
  } catch (err) {
    log.warn('STUN discovery failed; trying local addresses only', { stun: stunServer, reason: describeError(err) });
  }
  const assistedAddrs = disableAssistedAddrs ? [] : localAddresses().map((ip) => `${ip}:${port}`);
  return { socket, mappedAddrs, assistedAddrs };
}
