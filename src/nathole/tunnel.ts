import type { Socket } from 'node:dgram';
import { YamuxSession } from '../mux/session.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import { withTimeout } from '../util/timeout.js';
import { answerLateProbe, type UdpPeer } from './punch.js';
import { UdpStream } from './udp-stream.js';

/** The protocol value burrow puts in NatHoleVisitor: neither frp's quic nor kcp, so an frp peer knows it cannot serve. */
export const XTCP_PROTOCOL = 'burrow';
/** yamux keep-alive inside the tunnel, as frp's KCP path (10 s). */
const KEEPALIVE_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 5000;

export interface TunnelOptions {
  socket: Socket;
  peer: UdpPeer;
  /** the visitor opens streams; the owner accepts them */
  initiator: boolean;
  secretKey: string;
  sid: string;
}

/**
 * The data path of an xtcp tunnel over the punched socket: burrow's reliable
 * UDP stream, with yamux on top so each visitor connection is one stream
 * (as frp does over KCP). Late hole-punching probes are still answered.
 */
export async function openTunnel(opts: TunnelOptions): Promise<YamuxSession> {
  const key = deriveCipherKey(opts.secretKey);
  const stream = new UdpStream({
    socket: opts.socket,
    peer: opts.peer,
    initiator: opts.initiator,
    secretKey: opts.secretKey,
    sid: opts.sid,
    connectTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    onForeign: (msg, rinfo) => answerLateProbe(opts.socket, key, opts.sid, msg, { ip: rinfo.address, port: rinfo.port }),
  });
  stream.on('error', () => {});
  try {
    await withTimeout(stream.ready(), HANDSHAKE_TIMEOUT_MS + 1000, 'the tunnel handshake');
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const session = new YamuxSession(stream, { client: opts.initiator, keepaliveIntervalMs: KEEPALIVE_MS });
  session.on('error', () => {});
  return session;
}
