/**
 * The server side of KCP: one UDP socket, one KcpSession per peer address and
 * port (as kcp-go's listener). A session starts with the first FEC data
 * packet from a new address that holds a well-formed KCP segment; a new
 * conversation id from a known address replaces the old session only when
 * it starts at sequence number 0 (the peer restarted), as kcp-go does.
 * Sessions are bounded in number and closed after an idle time; anything
 * else that arrives is counted and dropped.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { BurrowError } from '../../util/errors.js';
import type { Timers } from '../../util/timers.js';
import { describeSocketError, formatAddress } from '../tcp.js';
import { FEC_DATA_OVERHEAD, FEC_TYPE_DATA, readFecHeader } from './fec.js';
import { KCP_OVERHEAD, KcpCmd } from './kcp.js';
import { KcpSession } from './kcp-session.js';

export const DEFAULT_KCP_MAX_SESSIONS = 4096;
/** kcp-go never times a session out; frp's yamux keepalive (30 s) and heartbeats keep live ones busy. */
export const DEFAULT_KCP_IDLE_TIMEOUT_MS = 300_000;
/** socket buffers, as frp sets on its KCP listener (the kernel may cap them lower) */
export const KCP_SOCKET_BUFFER = 4 * 1024 * 1024;
/** no UDP datagram is longer */
const MAX_DATAGRAM = 65_535;

export interface KcpListenOptions {
  host: string;
  port: number;
  maxSessions?: number;
  idleTimeoutMs?: number;
  timers?: Timers;
}

export interface KcpSessionInfo {
  session: KcpSession;
  remoteAddress: string;
  remotePort: number;
}

export interface KcpListener {
  readonly port: number;
  readonly address: string;
  readonly sessionCount: number;
  /** datagrams dropped before reaching a session (not KCP, no room, bad first packet) */
  readonly dropped: number;
  close(): Promise<void>;
}

/** The conversation id and sequence number of a FEC data packet's first KCP segment, if it is one. */
function firstSegment(datagram: Buffer): { conv: number; sn: number } | undefined {
  const header = readFecHeader(datagram);
  if (!header || header.type !== FEC_TYPE_DATA || datagram.length < FEC_DATA_OVERHEAD + KCP_OVERHEAD) return undefined;
  const cmd = datagram[FEC_DATA_OVERHEAD + 4] ?? 0;
  if (cmd < KcpCmd.Push || cmd > KcpCmd.WindowTell) return undefined;
  return { conv: datagram.readUInt32LE(FEC_DATA_OVERHEAD), sn: datagram.readUInt32LE(FEC_DATA_OVERHEAD + 12) };
}

export async function listenKcp(opts: KcpListenOptions, onSession: (info: KcpSessionInfo) => void): Promise<KcpListener> {
  const maxSessions = opts.maxSessions ?? DEFAULT_KCP_MAX_SESSIONS;
  const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_KCP_IDLE_TIMEOUT_MS;
  const socket = dgram.createSocket({
    type: net.isIPv6(opts.host) ? 'udp6' : 'udp4',
    reuseAddr: false,
    // A window of datagrams arrives in one burst; the default buffer would drop most of it (frps sets 4 MiB too).
    recvBufferSize: KCP_SOCKET_BUFFER,
    sendBufferSize: KCP_SOCKET_BUFFER,
  });
  const sessions = new Map<string, KcpSession>();
  let dropped = 0;
  let closed = false;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(
        new BurrowError('BURROW_LISTEN_FAILED', `cannot listen on udp ${formatAddress(opts.host, opts.port)}: ${describeSocketError(err)}`, { cause: err }),
      );
    socket.once('error', onError);
    socket.bind({ address: opts.host, port: opts.port }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  // Send errors (ICMP unreachable and the like) concern one peer; its session times out.
  socket.on('error', () => {});

  const open = (address: string, port: number, conv: number): KcpSession => {
    const key = `${address}|${port}`;
    const session = new KcpSession({
      conv,
      remote: formatAddress(address, port),
      idleTimeoutMs,
      ...(opts.timers ? { timers: opts.timers } : {}),
      send: (d) => {
        if (!closed) socket.send(d, port, address);
      },
    });
    sessions.set(key, session);
    session.once('close', () => {
      if (sessions.get(key) === session) sessions.delete(key);
    });
    return session;
  };

  socket.on('message', (msg, rinfo) => {
    if (closed || msg.length > MAX_DATAGRAM) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    const existing = sessions.get(key);
    const first = firstSegment(msg);
    if (existing && (!first || first.conv === existing.conv)) {
      existing.input(msg);
      return;
    }
    if (!first || (existing && first.sn !== 0) || (!existing && sessions.size >= maxSessions)) {
      dropped++;
      return;
    }
    existing?.destroy();
    const session = open(rinfo.address, rinfo.port, first.conv);
    try {
      onSession({ session, remoteAddress: rinfo.address, remotePort: rinfo.port });
    } catch {
      session.destroy();
      return;
    }
    session.input(msg);
  });

  const bound = socket.address();
  let closing: Promise<void> | undefined;
  return {
    port: bound.port,
    address: bound.address,
    get sessionCount() {
      return sessions.size;
    },
    get dropped() {
      return dropped;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const s of [...sessions.values()]) s.destroy();
        sessions.clear();
        socket.close(() => resolve());
      });
      return closing;
    },
  };
}
