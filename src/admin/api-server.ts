import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { BurrowError, describeError } from '../util/errors.js';
import { sameSecret } from '../util/secret.js';
import type { Logger } from '../util/logger.js';
import { crossSiteReason, loopbackHost } from './request-guard.js';

/** What a handler answers: JSON, plain text, bytes with their own type (pages), or an empty 200. */
export type ApiResult = {
  status?: number;
  json?: unknown;
  text?: string;
  /** extra response headers for a json or text answer */
  headers?: Record<string, string>;
  raw?: { body: Buffer; type: string; headers?: Record<string, string> };
  /** takes the response over (server-sent events); it ends when the client goes away or the server closes */
  stream?: (res: ServerResponse) => void;
};

export interface ApiRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  /** the request's Content-Type, lower case, without parameters ('' when absent) */
  contentType: string;
  /** the body as text (bounded by MAX_BODY_BYTES) */
  body(): Promise<string>;
}

export interface ApiRoute {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** `/api/proxy/:type/:name` style; `:x` matches one path segment */
  path: string;
  handler(req: ApiRequest): ApiResult | Promise<ApiResult>;
  /** `/healthz` answers without credentials */
  public?: boolean;
  /** a smaller bound on the body than MAX_BODY_BYTES (413 past it) */
  maxBodyBytes?: number;
  /**
   * The request changes something, so a browser must show it comes from our
   * own page. Every method but GET has side effects; a GET route says so here.
   */
  sideEffects?: boolean;
}

export interface ApiServerOptions {
  addr: string;
  port: number;
  user: string;
  password: string;
  routes: ApiRoute[];
  logger: Logger;
  /** webServer.tls: serve HTTPS with this certificate and key (frp: the same keys on frps and frpc) */
  tls?: { certFile: string; keyFile: string } | undefined;
}

export interface ApiServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Bodies over this are refused (413): the config file is the largest thing PUT here. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** As frp: a failed login is answered after a short pause, so guessing is slow. */
const AUTH_FAILURE_DELAY_MS = 200;

/** An error answer in frp's shape: `{"Code": status, "Msg": text}`. */
export function apiError(status: number, msg: string): ApiResult {
  return { status, json: { Code: status, Msg: msg } };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function authorized(req: IncomingMessage, user: string, password: string): boolean {
  if (user === '' && password === '') return true;
  const header = req.headers.authorization ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const u = colon >= 0 ? decoded.slice(0, colon) : '';
  const p = colon >= 0 ? decoded.slice(colon + 1) : '';
  // Both compared every time, so the answer time does not tell which one was wrong.
  const userOk = sameSecret(u, user);
  const passOk = sameSecret(p, password);
  return userOk && passOk;
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new HttpError(400, `malformed path segment: ${seg}`);
  }
}

function matchRoute(routes: ApiRoute[], method: string, path: string): { route: ApiRoute; params: Record<string, string> } | 'wrong-method' | undefined {
  const segs = path.split('/').filter(Boolean);
  let pathMatched = false;
  for (const route of routes) {
    const want = route.path.split('/').filter(Boolean);
    if (want.length !== segs.length) continue;
    const params: Record<string, string> = {};
    const matches = want.every((w, i) => {
      if (!w.startsWith(':')) return w === segs[i];
      params[w.slice(1)] = decodeSegment(segs[i]!);
      return true;
    });
    if (!matches) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  return pathMatched ? 'wrong-method' : undefined;
}

/** The request target as a URL; an absolute-form target that is no URL (`http://[x`) is the peer's error, 400. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://admin.invalid');
  } catch {
    throw new HttpError(400, 'the request target is not a valid URL');
  }
}

function readBody(req: IncomingMessage, max = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = (): void => {
      // Answered, not cut off: the rest is read and dropped (requestTimeout bounds it), then the connection closes.
      req.removeAllListeners('data');
      req.resume();
      reject(new HttpError(413, `request body over ${max} bytes`));
    };
    if (Number(req.headers['content-length'] ?? 0) > max) return tooLarge();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) return tooLarge();
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A peer gone mid-body: settle, so nothing waits for bytes that will not come (no-op once ended).
    req.on('close', () => reject(new HttpError(400, 'the request body was cut short')));
  });
}

function send(res: ServerResponse, result: ApiResult): void {
  const status = result.status ?? 200;
  if (result.stream !== undefined) {
    result.stream(res);
  } else if (result.json !== undefined) {
    const body = JSON.stringify(result.json);
    res.writeHead(status, { ...result.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (result.raw !== undefined) {
    const { body, type, headers } = result.raw;
    res.writeHead(status, { ...headers, 'content-type': type, 'content-length': body.length });
    res.end(body);
  } else if (result.text !== undefined) {
    res.writeHead(status, { ...result.headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(result.text) });
    res.end(result.text);
  } else {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  }
}

/**
 * The small JSON HTTP server behind the client admin API and the server
 * dashboard: frp's paths and answer shapes, Basic auth on everything except
 * public routes, bounded bodies, one log line per refused request.
 */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { logger: log } = opts;
  const loopback = opts.addr === '127.0.0.1' || opts.addr === '::1' || opts.addr === 'localhost';
  if (!loopback && opts.user === '' && opts.password === '') {
    log.warn('the admin API listens beyond this machine without a password; set webServer.user and webServer.password', { addr: opts.addr });
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let url = new URL('http://admin.invalid/');
    const handle = async (): Promise<ApiResult> => {
      url = requestUrl(req.url);
      // On loopback, only loopback names: a web page whose name was rebound to 127.0.0.1 must not read the API.
      if (loopback && !loopbackHost(req.headers.host))
        return apiError(403, 'this API answers only requests addressed to a loopback name (127.0.0.1, localhost)');
      // Matching decodes path segments: a malformed %-escape must answer 400, not throw.
      const found = matchRoute(opts.routes, req.method ?? 'GET', url.pathname);
      if (found === undefined) return apiError(404, `no such path: ${url.pathname}`);
      if (found === 'wrong-method') return apiError(405, `method ${req.method ?? ''} not allowed on ${url.pathname}`);
      if (found.route.sideEffects ?? found.route.method !== 'GET') {
        const why = crossSiteReason(req);
        if (why !== undefined) {
          log.warn('admin request refused: sent by another web site', { path: url.pathname, reason: why, remote: req.socket.remoteAddress });
          return apiError(
            403,
            `${req.method ?? ''} ${url.pathname} is refused from another web site (${why}); use this API from its own page or a tool such as curl`,
          );
        }
      }
      if (!found.route.public && !authorized(req, opts.user, opts.password)) {
        log.warn('admin request refused: wrong credentials', { path: url.pathname, remote: req.socket.remoteAddress });
        await new Promise((r) => setTimeout(r, AUTH_FAILURE_DELAY_MS));
        res.setHeader('www-authenticate', 'Basic realm="Restricted"');
        return { status: 401, text: 'Unauthorized\n' };
      }
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      return found.route.handler({ params: found.params, query: url.searchParams, contentType, body: () => readBody(req, found.route.maxBodyBytes) });
    };
    const fail = (err: unknown): void => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error('admin request failed', { path: url.pathname, reason: describeError(err) });
      if (res.headersSent) return void res.destroy();
      if (status === 413) res.setHeader('connection', 'close');
      send(res, apiError(status, describeError(err)));
    };
    // Nothing a peer sends may escape as an uncaught error: that would end the whole process.
    handle()
      .then((result) => send(res, result))
      .catch(fail)
      .catch((err: unknown) => {
        log.error('admin answer failed', { path: url.pathname, reason: describeError(err) });
        res.destroy();
      });
  };
  const server: Server = opts.tls ? createTlsServer(opts.tls, handler) : createServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.addr, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, errors are about accepting (too many open files): the server goes on, the process must not die.
  server.on('error', (err) => log.warn('admin API: a connection could not be accepted', { reason: describeError(err) }));
  const port = (server.address() as AddressInfo).port;
  log.info('admin API listening', { addr: `${opts.addr}:${port}`, tls: opts.tls !== undefined });
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An HTTPS server with webServer.tls's files, read once at start; what is wrong with them is named. */
function createTlsServer(tls: { certFile: string; keyFile: string }, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const read = (key: 'certFile' | 'keyFile'): Buffer => {
    try {
      return readFileSync(tls[key]);
    } catch (err) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `webServer.tls.${key} ${tls[key]} cannot be read: ${describeError(err)}`);
    }
  };
  const files = { cert: read('certFile'), key: read('keyFile') };
  try {
    return createHttpsServer(files, handler);
  } catch (err) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `webServer.tls: the certificate and key cannot be used: ${describeError(err)}`);
  }
}
