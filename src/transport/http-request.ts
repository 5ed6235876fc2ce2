/**
 * One small HTTP(S) request with every wait and size bounded: OIDC discovery,
 * the issuer's key set, and the client-credentials token request. Not a
 * general client: no redirects, no keep-alive, the whole answer in memory.
 * The TCP path is openRoute's (direct, or through an HTTP CONNECT / SOCKS5
 * proxy), so `auth.oidc.proxyURL` reaches the token endpoint the way
 * `transport.proxyURL` reaches the server.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { BurrowError, describeError } from '../util/errors.js';
import { openRoute } from './route.js';

export interface BoundedRequest {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** the whole exchange: connect, TLS, request, the last byte of the answer */
  timeoutMs: number;
  /** the answer's body; a longer one fails the request */
  maxBytes: number;
  /** http://… (CONNECT) or socks5://…; empty = direct */
  proxyURL?: string;
  /** PEM roots that replace the system's (frp: trustedCaFile) */
  ca?: Buffer;
  /** accept any certificate (frp: insecureSkipVerify) */
  insecureSkipVerify?: boolean;
}

export interface BoundedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Status line, headers and body of one request, or a BURROW_HTTP_BAD_RESPONSE naming the URL and the cause. */
export async function boundedHttpRequest(req: BoundedRequest): Promise<BoundedResponse> {
  const url = new URL(req.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BurrowError('BURROW_CONFIG_INVALID', `${req.url}: only http and https URLs are supported`);
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const started = Date.now();
  const left = (): number => Math.max(1, req.timeoutMs - (Date.now() - started));
  const where = `${url.origin}${url.pathname}`;
  let socket: net.Socket | tls.TLSSocket | undefined;
  try {
    socket = await openRoute({ host, port, proxyURL: req.proxyURL || undefined }, req.timeoutMs);
    if (secure) socket = await startTls(socket, host, req, left());
    return await exchange(socket, url, req, left());
  } catch (err) {
    socket?.destroy();
    if (err instanceof BurrowError && err.code === 'BURROW_HTTP_BAD_RESPONSE') throw err;
    throw new BurrowError('BURROW_HTTP_BAD_RESPONSE', `${req.method} ${where}: ${describeError(err)}`);
  }
}

function startTls(socket: net.Socket, host: string, req: BoundedRequest, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      servername: isIpLiteral(host) ? undefined : host,
      ca: req.ca,
      rejectUnauthorized: req.insecureSkipVerify !== true,
    });
    const timer = setTimeout(() => fail(new Error(`TLS handshake took longer than ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    };
    secure.once('error', fail);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      resolve(secure);
    });
  });
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Writes the request on the connected socket and reads the answer, at most `maxBytes` of body. */
function exchange(socket: net.Socket, url: URL, req: BoundedRequest, timeoutMs: number): Promise<BoundedResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: url.host, Accept: 'application/json', Connection: 'close', ...req.headers };
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    const request = http.request({
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      createConnection: () => socket,
    });
    const timer = setTimeout(() => fail(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      request.destroy();
      socket.destroy();
      reject(err);
    };
    request.once('error', fail);
    request.once('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > req.maxBytes) return fail(new Error(`the answer is larger than ${req.maxBytes} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBytes) fail(new Error(`the answer is larger than ${req.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.once('error', fail);
      res.once('end', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    request.end(req.body);
  });
}
