/**
 * A Node HTTP/1.1 server with no listener: plugins hand it work connections
 * one by one. Every bound lives here once: head size, header count, head and
 * request time, keep-alive idle time; a malformed or oversized head gets a
 * 400/431 answer and only that connection closes.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ConnectionSet } from './connection-set.js';
import { giveSetTimeout, tagConnection } from './conn-tag.js';
import { HANDSHAKE_TIMEOUT_MS, KEEP_ALIVE_IDLE_MS, MAX_HEAD_BYTES, MAX_HEADERS, REQUEST_TIMEOUT_MS } from './limits.js';
import type { ConnectionInfo } from './types.js';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpServerHooks {
  request: RequestHandler;
  /** CONNECT requests; absent = answered 405 */
  connect?: UpgradeHandler;
  /** Upgrade requests (WebSocket); absent = served as plain requests */
  upgrade?: UpgradeHandler;
}

const STATUS_LINES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

export function createBoundedHttpServer(hooks: HttpServerHooks): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEAD_BYTES,
      headersTimeout: HANDSHAKE_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_IDLE_MS,
      // The head and request timers are checked on this period; a connection may overstay by up to one period.
      connectionsCheckingInterval: 1_000,
    },
    hooks.request,
  );
  server.maxHeadersCount = MAX_HEADERS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable) {
      const status = STATUS_LINES[err.code ?? ''] ?? '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
  if (hooks.connect) server.on('connect', hooks.connect);
  else
    server.on('connect', (_req: http.IncomingMessage, socket: Duplex) =>
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
    );
  if (hooks.upgrade) server.on('upgrade', hooks.upgrade);
  return server;
}

/** One HTTP server fed with work connections; `close()` ends the server and every connection it holds. */
export class HttpConnectionServer {
  readonly server: http.Server;
  private readonly conns = new ConnectionSet();

  constructor(hooks: HttpServerHooks) {
    this.server = createBoundedHttpServer(hooks);
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    tagConnection(conn, info);
    giveSetTimeout(conn);
    this.conns.add(conn);
    this.server.emit('connection', conn);
  }

  close(): Promise<void> {
    this.conns.destroyAll();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
