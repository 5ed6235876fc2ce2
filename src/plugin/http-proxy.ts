/**
 * http_proxy: the work connection speaks to an HTTP forward proxy. CONNECT
 * opens a tunnel to host:port ("200 OK", then bytes both ways); any other
 * request must carry an absolute URL and is forwarded. With httpUser or
 * httpPassword set, Proxy-Authorization Basic is required: 407 with
 * Proxy-Authenticate: Basic otherwise (late for wrong credentials, as frp).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientPluginSettings } from '../config/types.js';
import { describeError } from '../util/errors.js';
import { relay } from '../relay/pipe.js';
import { answerAuthFailure, checkBasic, credentialsFrom, type Credentials } from './basic-auth.js';
import { endToEndHeaders } from './hop-headers.js';
import { HttpConnectionServer } from './http-server.js';
import { DIAL_TIMEOUT_MS } from './limits.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

const CONNECT_REFUSED_AUTH = 'HTTP/1.1 407 Not authorized\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const CONNECT_BAD_TARGET = 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const CONNECT_OK = 'HTTP/1.1 200 OK\r\n\r\n';

/** `host:port` of a CONNECT request target, or undefined. */
export function parseConnectTarget(target: string | undefined): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/@[\]]+)):(\d{1,5})$/.exec(target ?? '');
  const port = m ? Number(m[3]) : 0;
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  return m && host !== '' && port >= 1 && port <= 65535 ? { host, port } : undefined;
}

export class HttpProxyPlugin implements ClientPlugin {
  private readonly server: HttpConnectionServer;
  private readonly credentials: Credentials | undefined;

  constructor(
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.credentials = credentialsFrom(settings.httpUser, settings.httpPassword);
    this.server = new HttpConnectionServer({
      request: (req, res) => this.onRequest(req, res),
      connect: (req, socket, head) => this.onConnect(req, socket, head),
    });
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    this.server.handle(conn, info);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private onConnect(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const verdict = checkBasic(this.credentials, req.headers['proxy-authorization']);
    if (verdict !== 'ok') {
      answerAuthFailure(verdict, () => socket.end(CONNECT_REFUSED_AUTH));
      return;
    }
    const target = parseConnectTarget(req.url);
    if (!target) {
      socket.end(CONNECT_BAD_TARGET);
      return;
    }
    const remote = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const timer = setTimeout(() => remote.destroy(new Error(`timed out after ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS);
    const onDialError = (err: Error): void => {
      clearTimeout(timer);
      this.context.logger.debug('http_proxy: cannot reach the CONNECT target', { proxy: this.context.proxyName, target: req.url, reason: describeError(err) });
      socket.end(CONNECT_BAD_TARGET);
    };
    remote.once('error', onDialError);
    socket.once('close', () => remote.destroy());
    remote.once('connect', () => {
      clearTimeout(timer);
      remote.off('error', onDialError);
      socket.write(CONNECT_OK);
      if (head.length > 0) remote.write(head);
      void relay(socket, remote);
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const verdict = checkBasic(this.credentials, req.headers['proxy-authorization']);
    if (verdict !== 'ok') {
      answerAuthFailure(verdict, () => {
        res.writeHead(407, { 'proxy-authenticate': 'Basic', 'content-length': 0 });
        res.end();
      });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('http_proxy: the request target must be an absolute http:// or https:// URL\n');
      return;
    }
    const headers = endToEndHeaders(req.headers);
    const out = (url.protocol === 'https:' ? https : http).request(url, { method: req.method, headers, timeout: DIAL_TIMEOUT_MS });
    out.once('timeout', () => out.destroy(new Error(`no answer within ${DIAL_TIMEOUT_MS} ms`)));
    out.once('response', (answer) => {
      out.setTimeout(0);
      res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
      answer.pipe(res);
    });
    out.once('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // As frp: the error is the answer (a 500 with its text).
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${describeError(err)}\n`);
    });
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }
}

export function createHttpProxyPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return new HttpProxyPlugin(settings, context);
}
