import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server } from 'node:net';
import type { PortRange } from '../config/types.js';
import { BurrowError } from '../util/errors.js';
import { RELAY_HIGH_WATER_MARK, UDP_RECV_BUFFER } from '../util/socket-buffers.js';

/** Tries for a free port when a proxy asks for port 0 inside `allowPorts` (frp tries 5). */
const RANDOM_PORT_TRIES = 5;

export function portAllowed(port: number, allow: readonly PortRange[]): boolean {
  return allow.length === 0 || allow.some((r) => port >= r.start && port <= r.end);
}

/**
 * The ports a listed user may open: their own allowPorts within the
 * server's (both empty = any). A user's range the server does not allow is
 * no port at all, so the result may be a list no port matches.
 */
export function accountPorts(server: readonly PortRange[], account: readonly PortRange[] | undefined): readonly PortRange[] {
  if (!account || account.length === 0) return server;
  if (server.length === 0) return account;
  const out: PortRange[] = [];
  for (const a of account) {
    for (const s of server) {
      const start = Math.max(a.start, s.start);
      const end = Math.min(a.end, s.end);
      if (start <= end) out.push({ start, end });
    }
  }
  // Nothing in common: a range no port is in, so every port is refused rather than any allowed.
  return out.length > 0 ? out : [{ start: 0, end: -1 }];
}

function listenOnce(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: RELAY_HIGH_WATER_MARK });
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function randomAllowedPort(allow: readonly PortRange[]): number {
  const total = allow.reduce((n, r) => n + (r.end - r.start + 1), 0);
  let pick = Math.floor(Math.random() * total);
  for (const r of allow) {
    const size = r.end - r.start + 1;
    if (pick < size) return r.start + pick;
    pick -= size;
  }
  return allow[0]!.start;
}

function bindUdpOnce(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize: UDP_RECV_BUFFER });
    const fail = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/**
 * Opens the public TCP listener of a proxy. `port` 0 lets the OS pick when no
 * ports are restricted, or tries a few random allowed ports. Errors are worded
 * for the person who owns the proxy.
 */
export function listenProxyPort(name: string, host: string, port: number, allow: readonly PortRange[]): Promise<Server> {
  return openPort(name, port, allow, 'remote port', (p) => listenOnce(host, p));
}

/** The same for a udp proxy's public socket: UDP ports are a pool of their own, as in frp. */
export function bindProxyUdpPort(name: string, host: string, port: number, allow: readonly PortRange[]): Promise<UdpSocket> {
  return openPort(name, port, allow, 'remote UDP port', (p) => bindUdpOnce(host, p));
}

async function openPort<T>(name: string, port: number, allow: readonly PortRange[], what: string, open: (port: number) => Promise<T>): Promise<T> {
  if (port !== 0) {
    if (!portAllowed(port, allow)) {
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": ${what} ${port} is not allowed by the server`);
    }
    try {
      return await open(port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'needs privileges the server lacks' : `cannot be opened (${code ?? String(err)})`;
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": ${what} ${port} ${why}`);
    }
  }
  if (allow.length === 0) return open(0);
  if (allow.every((r) => r.end < r.start)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": no ${what} is allowed for this user`);
  for (let i = 0; i < RANDOM_PORT_TRIES; i++) {
    try {
      return await open(randomAllowedPort(allow));
    } catch {
      // taken: try another allowed port
    }
  }
  throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": no free port left in the allowed ranges`);
}
