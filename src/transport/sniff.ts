/**
 * The server side of every TCP-based transport: one listening socket where
 * plain, TLS and websocket clients share the port, told apart by their first
 * byte (frp's rule): 0x17 is frp's marker (dropped, TLS follows), 0x16 is a
 * TLS handshake record (kept), "G" starts the websocket upgrade
 * (`GET /~!frp`), anything else is plain. Inside a websocket the same TLS
 * rule applies again (frpc's `websocket` with TLS on); inside TLS a "G" is a
 * websocket too (`wss` straight to the server, which frps itself leaves to a
 * TLS-terminating proxy). With frp's port sharing on, HTTP and HTTPS vhost
 * visitors are told apart first and handed over raw (port-share.ts).
 */
import net from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { BurrowError, describeError } from '../util/errors.js';
import type { AcceptedConnection, ListenOptions, TransportListener } from './index.js';
import { checkPort, checkWait, DEFAULT_KEEPALIVE_MS, DEFAULT_SNIFF_TIMEOUT_MS, describeSocketError, formatAddress, tuneSocket } from './tcp.js';
import { createTlsAcceptor, CUSTOM_TLS_FIRST_BYTE, type TlsAcceptor } from './tls.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';
import { withTimeout } from '../util/timeout.js';
import { createWebSocketAcceptor, WEBSOCKET_REQUEST_PREFIX, type WebSocketAcceptor } from './websocket.js';
import { matchSharedPort, type SharedKind } from './port-share.js';

const TLS_HANDSHAKE_RECORD = 0x16;
/** No frp message type and no yamux header starts with it. */
const WEBSOCKET_FIRST_BYTE = WEBSOCKET_REQUEST_PREFIX.charCodeAt(0);

export type FirstByteRoute = 'tls-marked' | 'tls' | 'websocket' | 'plain';

export function routeFirstByte(byte: number): FirstByteRoute {
  if (byte === CUSTOM_TLS_FIRST_BYTE) return 'tls-marked';
  if (byte === TLS_HANDSHAKE_RECORD) return 'tls';
  if (byte === WEBSOCKET_FIRST_BYTE) return 'websocket';
  return 'plain';
}

/**
 * Takes exactly one byte off `socket`; everything after it stays buffered in
 * the socket for whoever reads next (the TLS server or the caller).
 */
export function readFirstByte(socket: Readable, timeoutMs: number, remote: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (err: BurrowError): void => {
      cleanup();
      reject(err);
    };
    const onReadable = (): void => {
      const chunk = socket.read(1) as Buffer | null;
      if (chunk === null || chunk.length === 0) return;
      cleanup();
      resolve(chunk[0] ?? 0);
    };
    const onEnd = (): void => fail(new BurrowError('BURROW_CLOSED', `connection from ${remote} closed before sending any data`));
    const onError = (err: Error): void =>
      fail(new BurrowError('BURROW_CLOSED', `connection from ${remote} failed before sending any data: ${describeSocketError(err)}`, { cause: err }));
    const timer = setTimeout(() => fail(new BurrowError('BURROW_TIMEOUT', `connection from ${remote} sent nothing within ${timeoutMs} ms`)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

interface SniffingAcceptor {
  accept(socket: net.Socket): void;
  /** Destroys sockets whose sniff or handshake has not finished. */
  dropPending(): void;
  /** Passes a failure to the listener's onError, if any. */
  report(err: unknown, remote: string): void;
}

function createSniffingAcceptor(opts: ListenOptions, onConnection: (conn: AcceptedConnection) => void): SniffingAcceptor {
  const timeoutMs = checkWait(opts.sniffTimeoutMs, DEFAULT_SNIFF_TIMEOUT_MS, 'sniff timeout');
  // A server that verifies client certificates must not let anyone skip TLS.
  const force = opts.tls.force === true || opts.tls.ca !== undefined;
  const admission: Admission = {
    tlsAcceptor: createTlsAcceptor(opts.tls, timeoutMs),
    websocket: createWebSocketAcceptor(),
    timeoutMs,
    force,
    sharing: opts.share !== undefined && (opts.share.http !== undefined || opts.share.https !== undefined),
    share: opts.share ?? {},
  };
  const pending = new Set<net.Socket>();
  // Sockets dropped by close() are not failures worth a log line.
  let stopped = false;

  const report = (err: unknown, remote: string): void => {
    const error = err instanceof Error ? err : new BurrowError('BURROW_CLOSED', describeError(err));
    try {
      opts.onError?.(error, remote);
    } catch {
      // A logging hook that throws must not take the listener down with it.
    }
  };

  return {
    accept(socket) {
      const remoteAddress = socket.remoteAddress ?? '';
      const remotePort = socket.remotePort ?? 0;
      const remote = formatAddress(remoteAddress || '?', remotePort);
      // Errors before the hand-off are reported once through onError, never thrown.
      const ignore = (): void => {};
      socket.on('error', ignore);
      const place = opts.admit?.(remoteAddress, () => socket.destroy());
      if (typeof place === 'string') {
        socket.destroy();
        return;
      }
      if (place) socket.once('close', () => place.release());
      pending.add(socket);
      void admit(socket, remote, admission).then(
        (admitted) => {
          pending.delete(socket);
          if ('shared' in admitted) {
            // A vhost visitor, not a client: it leaves the pre-login counts and becomes the vhost's.
            place?.release();
            socket.off('error', ignore);
            handOver(admission.share, admitted.shared, socket);
            return;
          }
          const { stream, tls } = admitted;
          // A plain socket becomes the caller's, errors included; under TLS the
          // raw socket stays ours and its errors surface on the TLS socket.
          if (stream === socket) socket.off('error', ignore);
          try {
            onConnection({ stream, remoteAddress, remotePort, tls, ...(place ? { admission: place } : {}) });
          } catch (err) {
            stream.destroy();
            report(err, remote);
          }
        },
        (err: unknown) => {
          pending.delete(socket);
          socket.destroy();
          if (!stopped) report(err, remote);
        },
      );
    },
    report,
    dropPending() {
      stopped = true;
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
  };
}

interface Admission {
  tlsAcceptor: TlsAcceptor;
  websocket: WebSocketAcceptor;
  timeoutMs: number;
  force: boolean;
  /** whether any vhost shares the port: only then are more than one byte looked at */
  sharing: boolean;
  share: NonNullable<ListenOptions['share']>;
}

type Admitted = { stream: Duplex; tls: boolean } | { shared: SharedKind };

/** Gives a vhost visitor to its vhost; matchSharedPort only names kinds that are shared. */
function handOver(share: NonNullable<ListenOptions['share']>, kind: SharedKind, socket: net.Socket): void {
  const to = share[kind];
  if (to) to(socket);
  else socket.destroy();
}

/** Peeks one byte: it stays in the stream unless it is frp's 0x17 marker, which is dropped. */
async function peekRoute(stream: Readable, remote: string, timeoutMs: number): Promise<FirstByteRoute> {
  const first = await readFirstByte(stream, timeoutMs, remote);
  const route = routeFirstByte(first);
  if (route !== 'tls-marked') stream.unshift(Buffer.from([first]));
  return route;
}

function refusePlain(remote: string, inside: string): BurrowError {
  return new BurrowError('BURROW_TLS', `plain connection from ${remote}${inside} refused: the server requires TLS`);
}

/** Decides what a new connection speaks and unwraps it down to frp's bytes. Each step has the sniff timeout. */
async function admit(socket: net.Socket, remote: string, a: Admission): Promise<Admitted> {
  if (a.sharing) {
    const shared = await matchSharedPort(socket, a.share, a.timeoutMs, remote);
    if (shared) return { shared };
  }
  const route = await peekRoute(socket, remote, a.timeoutMs);
  if (route === 'websocket') {
    const ws = await withTimeout(a.websocket.upgrade(socket, remote), a.timeoutMs, `websocket handshake from ${remote}`);
    // frpc's websocket carries the same first-byte choice inside it.
    const inner = await peekRoute(ws, remote, a.timeoutMs);
    if (inner === 'tls' || inner === 'tls-marked') return { stream: await a.tlsAcceptor.upgrade(ws, remote), tls: true };
    if (a.force) throw refusePlain(remote, ' (in a websocket)');
    return { stream: ws, tls: false };
  }
  if (route === 'plain') {
    if (a.force) throw refusePlain(remote, '');
    return { stream: socket, tls: false };
  }
  const secure = await a.tlsAcceptor.upgrade(socket, remote);
  // frp clients speak first, so waiting for their first byte here costs nothing.
  if ((await peekRoute(secure, remote, a.timeoutMs)) === 'websocket') {
    return { stream: await withTimeout(a.websocket.upgrade(secure, remote), a.timeoutMs, `websocket handshake from ${remote}`), tls: true };
  }
  return { stream: secure, tls: true };
}

/**
 * Listens on host:port and hands each connection to `onConnection` once it is
 * known to be plain or has finished its TLS handshake. close() stops accepting
 * and drops connections still being sniffed; those already handed out belong
 * to the caller.
 */
export async function listenSniffing(opts: ListenOptions, onConnection: (conn: AcceptedConnection) => void): Promise<TransportListener> {
  checkPort(opts.port, true);
  const acceptor = createSniffingAcceptor(opts, onConnection);
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, highWaterMark: RELAY_HIGH_WATER_MARK }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    tuneSocket(socket, DEFAULT_KEEPALIVE_MS);
    acceptor.accept(socket);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      const where = formatAddress(opts.host, opts.port);
      reject(new BurrowError('BURROW_LISTEN_FAILED', `cannot listen on ${where}: ${describeSocketError(err)}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Accept failures (EMFILE and the like) must not take the process down.
  server.on('error', (err) => {
    acceptor.report(new BurrowError('BURROW_LISTEN_FAILED', `accepting a connection failed: ${describeSocketError(err)}`, { cause: err }), '');
  });

  const bound = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port: bound.port,
    address: bound.address,
    get connectionCount() {
      return open.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        // server.close()'s callback would wait for every connection, the
        // handed-out ones included. The listening descriptor is released
        // inside close() itself, so the port is free when this resolves.
        server.close();
        acceptor.dropPending();
        setImmediate(resolve);
      });
      return closing;
    },
  };
}
