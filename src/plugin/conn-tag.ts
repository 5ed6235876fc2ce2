/**
 * The ConnectionInfo of a work connection, attached to the socket object an
 * HTTP server sees as `req.socket`. A property, not a WeakMap: for HTTP/2
 * `req.socket` is a proxy object that forwards property reads to the socket.
 */
import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from './types.js';

const INFO = Symbol('burrow.plugin.connectionInfo');

interface Tagged {
  [INFO]?: ConnectionInfo;
}

export function tagConnection(conn: Duplex, info: ConnectionInfo): void {
  (conn as Duplex & Tagged)[INFO] = info;
}

export function connectionInfoOf(socket: unknown): ConnectionInfo {
  return (typeof socket === 'object' && socket !== null ? (socket as Tagged)[INFO] : undefined) ?? {};
}

/**
 * Node's HTTP server closes idle keep-alive connections through
 * `socket.setTimeout`; a work connection that is a plain Duplex (a yamux
 * stream) has none, so it gets a minimal one: after `ms` it emits 'timeout'.
 * The server resets it when the next request starts.
 */
export function giveSetTimeout(conn: Duplex): void {
  const target = conn as Duplex & { setTimeout?: (ms: number, cb?: () => void) => unknown };
  if (typeof target.setTimeout === 'function') return;
  let timer: NodeJS.Timeout | undefined;
  target.setTimeout = (ms: number, cb?: () => void) => {
    clearTimeout(timer);
    timer = undefined;
    if (cb) target.once('timeout', cb);
    if (ms > 0) {
      timer = setTimeout(() => target.emit('timeout'), ms);
      timer.unref();
    }
    return target;
  };
  target.once('close', () => clearTimeout(timer));
}
