/**
 * frp's websocket transport: an HTTP/1.1 upgrade to the path `/~!frp` on the
 * server's bind port, then frp's usual bytes (optional 0x17, optional TLS,
 * yamux or messages) inside binary frames. Client handshake and server-side
 * acceptor; both hand back a WebSocketStream.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { BurrowError, describeError } from '../util/errors.js';
import { lazyRequire } from '../util/lazy-require.js';
import { withTimeout } from '../util/timeout.js';
import { WebSocketStream } from './websocket-stream.js';

export const FRP_WEBSOCKET_PATH = '/~!frp';
/** The first bytes of a websocket client on a shared port (what frps matches). */
export const WEBSOCKET_REQUEST_PREFIX = `GET ${FRP_WEBSOCKET_PATH}`;
/**
 * Largest frame accepted, checked by ws before it allocates. Go peers write
 * one frame per write call; a yamux data frame can reach the 6 MiB window.
 */
const MAX_PAYLOAD = 16 * 1024 * 1024;

/** ws loads with the first websocket dialled or accepted: most links are tcp or TLS. */
const wsModule = lazyRequire<typeof import('ws')>('ws');

const SHARED_OPTIONS = { perMessageDeflate: false, maxPayload: MAX_PAYLOAD, skipUTF8Validation: true } as const;

/**
 * Runs the client handshake over an already open stream (TCP, or TLS for
 * wss). `hostHeader` is what frpc sends as Host and in its Origin
 * (`http://<host>`): the dialled host:port for websocket, the TLS server name
 * for wss.
 */
export async function openClientWebSocket(socket: net.Socket, hostHeader: string, target: string, timeoutMs: number): Promise<Duplex> {
  // A socket read by a proxy handshake is left paused; the HTTP client only
  // listens for 'data', so let it flow (nothing is buffered: servers never speak first).
  if (socket.readableFlowing === false && socket.readableLength === 0) socket.resume();
  const ws = new (wsModule().WebSocket)(`ws://${hostHeader}${FRP_WEBSOCKET_PATH}`, {
    ...SHARED_OPTIONS,
    createConnection: () => socket,
    origin: `http://${hostHeader}`,
    followRedirects: false,
  });
  const opened = new Promise<void>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      reject(new BurrowError('BURROW_WEBSOCKET', `websocket handshake with ${target} failed: ${why}`, { cause }));
    };
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
      const status = `${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim();
      res.resume();
      fail(
        `the server answered HTTP ${status} to GET ${FRP_WEBSOCKET_PATH}; it is not a frp/burrow server, or a proxy in front of it sends this path elsewhere`,
      );
    });
    ws.once('error', (err: Error) => {
      const parse = (err as NodeJS.ErrnoException).code?.startsWith('HPE_') === true;
      fail(parse ? 'the server did not answer with HTTP (is this port a plain frp/burrow port behind no websocket support?)' : describeError(err), err);
    });
  });
  try {
    await withTimeout(opened, timeoutMs, `websocket handshake with ${target}`);
  } catch (err) {
    ws.terminate();
    socket.destroy();
    throw err;
  }
  ws.removeAllListeners('error');
  return new WebSocketStream(ws, socket);
}

const ignoreError = (): void => {};

export interface WebSocketAcceptor {
  /** Reads the HTTP upgrade from `socket` (its first bytes still unread) and answers it. */
  upgrade(socket: net.Socket, remote: string): Promise<WebSocketStream>;
}

interface Pending {
  remote: string;
  resolve(stream: WebSocketStream): void;
  reject(err: BurrowError): void;
}

/**
 * One node:http server (never listening) parses the request heads of sniffed
 * sockets; its 'upgrade' and 'request' events name the socket they came on,
 * which finds the waiting caller. Anything but an upgrade to /~!frp gets a
 * short HTTP error and a clear reason in the log.
 */
/**
 * The peer's path stays out of the reason: reasons become log categories, and
 * a scan must not be able to mint one per request.
 */
const WRONG_PATH = `the path is not ${FRP_WEBSOCKET_PATH}`;

export function createWebSocketAcceptor(): WebSocketAcceptor {
  const pending = new Map<net.Socket, Pending>();
  let wsServer: WebSocketServer | undefined;
  const upgrader = (): WebSocketServer => (wsServer ??= new (wsModule().WebSocketServer)({ ...SHARED_OPTIONS, noServer: true, clientTracking: false }));
  const httpServer = http.createServer();

  const refuse = (socket: net.Socket, status: string, why: string): void => {
    const entry = pending.get(socket);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${why.length + 1}\r\n\r\n${why}\n`);
    entry?.reject(new BurrowError('BURROW_WEBSOCKET', `websocket request from ${entry.remote} refused: ${why}`));
  };
  const pathOf = (url: string | undefined): string => (url ?? '').split('?', 1)[0] ?? '';

  httpServer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (!pending.has(socket)) {
      socket.destroy();
      return;
    }
    if (pathOf(req.url) !== FRP_WEBSOCKET_PATH) {
      refuse(socket, '404 Not Found', WRONG_PATH);
      return;
    }
    // ws answers a malformed upgrade with 400 and closes the socket; the close listener reports it.
    upgrader().handleUpgrade(req, socket, head, (ws) => {
      const stream = new WebSocketStream(ws, socket);
      // Bytes behind the request head are parsed before any caller could listen: a
      // malformed frame there would emit 'error' to nobody and end the process.
      // Callers add their own listeners; this one only keeps the failure from throwing.
      stream.on('error', ignoreError);
      pending.get(socket)?.resolve(stream);
    });
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    res.shouldKeepAlive = false;
    const why = pathOf(req.url) === FRP_WEBSOCKET_PATH ? 'not a websocket upgrade request' : WRONG_PATH;
    refuse(socket, pathOf(req.url) === FRP_WEBSOCKET_PATH ? '400 Bad Request' : '404 Not Found', why);
  });
  httpServer.on('clientError', (err: Error, socket: Duplex) => {
    const entry = pending.get(socket as net.Socket);
    socket.destroy();
    entry?.reject(new BurrowError('BURROW_WEBSOCKET', `websocket request from ${entry.remote} is not valid HTTP: ${describeError(err)}`, { cause: err }));
  });

  return {
    upgrade(socket, remote) {
      return new Promise<WebSocketStream>((resolve, reject) => {
        const settle = (): void => {
          pending.delete(socket);
          socket.off('close', onClose);
        };
        const onClose = (): void => {
          settle();
          reject(new BurrowError('BURROW_WEBSOCKET', `websocket handshake from ${remote} did not complete: the connection closed`));
        };
        pending.set(socket, {
          remote,
          resolve(stream) {
            settle();
            resolve(stream);
          },
          reject(err) {
            settle();
            reject(err);
          },
        });
        socket.once('close', onClose);
        httpServer.emit('connection', socket);
      });
    },
  };
}
