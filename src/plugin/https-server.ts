/**
 * TLS termination for https2http and https2https: each work connection is
 * wrapped in a server-side TLSSocket, then served as HTTP/2 when the visitor
 * negotiated h2 (and enableHTTP2 is on, frp's default) or as HTTP/1.1 by the
 * bounded server of http-server.ts. As frp, a request whose Host differs from
 * the TLS server name is answered 421 Misdirected Request.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { describeError } from '../util/errors.js';
import { ConnectionSet } from './connection-set.js';
import { tagConnection } from './conn-tag.js';
import { createBoundedHttpServer, type UpgradeHandler } from './http-server.js';
import { HANDSHAKE_TIMEOUT_MS, KEEP_ALIVE_IDLE_MS, MAX_HEAD_BYTES, MAX_HEADERS } from './limits.js';
import type { ConnectionInfo, PluginContext } from './types.js';

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
export type AnyRequestHandler = (req: AnyRequest, res: AnyResponse) => void;

export interface HttpsServerOptions {
  secureContext: tls.SecureContext;
  enableHTTP2: boolean;
  context: PluginContext;
  pluginType: string;
  /** HTTP/1.1 upgrades (WebSocket), passed through as frp's reverse proxy does */
  upgrade?: UpgradeHandler;
}

/** Host without port, lower case; IPv6 literals without brackets. */
export function canonicalHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** A request whose Host is not the name the visitor gave in TLS: frp answers 421. */
function misdirected(req: AnyRequest): boolean {
  const sni = (req.socket as tls.TLSSocket).servername;
  return typeof sni === 'string' && sni !== '' && canonicalHost(sni) !== canonicalHost(requestHost(req));
}

function requestHost(req: AnyRequest): string {
  const authority = req.headers[':authority'];
  return typeof authority === 'string' ? authority : (req.headers.host ?? '');
}

export class HttpsConnectionServer {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2SecureServer;
  private readonly conns = new ConnectionSet();

  constructor(
    handler: AnyRequestHandler,
    private readonly opts: HttpsServerOptions,
  ) {
    const guarded: AnyRequestHandler = (req, res) => {
      if (misdirected(req)) {
        res.writeHead(421);
        res.end();
        return;
      }
      handler(req, res);
    };
    const { upgrade } = opts;
    const guardedUpgrade: UpgradeHandler | undefined =
      upgrade &&
      ((req, socket, head) => {
        if (misdirected(req)) return void socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        upgrade(req, socket, head);
      });
    this.h1 = createBoundedHttpServer({ request: guarded, ...(guardedUpgrade ? { upgrade: guardedUpgrade } : {}) });
    // Only used as a session factory: connections arrive already decrypted by our own TLSSocket.
    this.h2 = http2.createSecureServer({
      maxSessionMemory: 10,
      maxHeaderListPairs: MAX_HEADERS,
      settings: { maxHeaderListSize: MAX_HEAD_BYTES },
    });
    // An HTTP/2 session silent this long is closed.
    this.h2.setTimeout(KEEP_ALIVE_IDLE_MS);
    this.h2.on('request', guarded);
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    const { context, pluginType } = this.opts;
    const socket = new tls.TLSSocket(conn, {
      isServer: true,
      secureContext: this.opts.secureContext,
      ALPNProtocols: this.opts.enableHTTP2 ? ['h2', 'http/1.1'] : ['http/1.1'],
    });
    tagConnection(socket, info);
    this.conns.add(socket);
    socket.once('close', () => conn.destroy());
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    socket.on('error', (err) => {
      clearTimeout(timer);
      context.logger.debug(`${pluginType}: connection failed`, { proxy: context.proxyName, reason: describeError(err) });
    });
    socket.once('secure', () => {
      clearTimeout(timer);
      if (socket.alpnProtocol === 'h2') {
        // Node marks a server socket's handshake done only for sockets its own tls.Server accepted; the HTTP/2 session waits for that mark.
        (socket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
        this.h2.emit('secureConnection', socket);
      } else {
        this.h1.emit('connection', socket);
      }
    });
  }

  close(): Promise<void> {
    this.conns.destroyAll();
    this.h1.closeAllConnections();
    return Promise.all([new Promise<void>((resolve) => this.h1.close(() => resolve())), new Promise<void>((resolve) => this.h2.close(() => resolve()))]).then(
      () => undefined,
    );
  }
}
