/**
 * The forwarding half shared by http2http, http2https, https2http and
 * https2https: one request in, the same request toward `localAddr`, the
 * answer back. Like Go's ReverseProxy in Rewrite mode (what frp uses):
 * hop-by-hop headers dropped, incoming X-Forwarded-* headers dropped unless a
 * plugin keeps them, Host kept unless hostHeaderRewrite, then
 * requestHeaders.set; a backend that cannot be reached is a 502.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { HeaderOperations } from '../config/types.js';
import { visitorAddress } from '../util/address.js';
import { describeError } from '../util/errors.js';
import { relay } from '../relay/pipe.js';
import { connectionInfoOf } from './conn-tag.js';
import { endToEndHeaders, upgradeProtocol } from './hop-headers.js';
import type { AnyRequest, AnyResponse } from './https-server.js';
import { DIAL_TIMEOUT_MS } from './limits.js';
import { formatHostPort, type HostPort } from './local-addr.js';
import type { PluginContext } from './types.js';

/**
 * What happens to X-Forwarded-* on the way (frp's choices per plugin):
 * `drop` (http2http), `keep` the incoming ones (http2https), or `append` the
 * visitor's address and set Host/Proto (https2http, https2https).
 */
export type ForwardedMode = 'drop' | 'keep' | 'append';

export interface ReverseProxyOptions {
  scheme: 'http' | 'https';
  target: HostPort;
  hostHeaderRewrite?: string;
  requestHeaders?: HeaderOperations;
  forwarded: ForwardedMode;
  context: PluginContext;
  pluginType: string;
}

const FORWARDED_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'];

export class ReverseProxy {
  private readonly agent: http.Agent;

  constructor(private readonly opts: ReverseProxyOptions) {
    // As frp: the local HTTPS service is not verified (it is usually self-signed).
    this.agent = opts.scheme === 'https' ? new https.Agent({ keepAlive: true, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true });
  }

  /** The outgoing request head: which headers, in which order of rules. */
  outgoingHeaders(req: AnyRequest): http.OutgoingHttpHeaders {
    const headers = endToEndHeaders(req.headers);
    const incomingFor = req.headers['x-forwarded-for'];
    const authority = req.headers[':authority'];
    const host = typeof authority === 'string' ? authority : (req.headers.host ?? '');
    if (this.opts.forwarded !== 'keep') for (const name of FORWARDED_HEADERS) delete headers[name];
    if (this.opts.forwarded === 'append') {
      const info = connectionInfoOf(req.socket);
      const client = visitorAddress(info.source?.address ?? req.socket.remoteAddress);
      const prior = Array.isArray(incomingFor) ? incomingFor.join(', ') : incomingFor;
      if (client !== '' || prior) headers['x-forwarded-for'] = prior && client ? `${prior}, ${client}` : (prior ?? client);
      if (host !== '') headers['x-forwarded-host'] = host;
      headers['x-forwarded-proto'] = 'https';
    }
    headers.host = this.opts.hostHeaderRewrite || host || formatHostPort(this.opts.target);
    for (const [name, value] of Object.entries(this.opts.requestHeaders?.set ?? {})) headers[name.toLowerCase()] = value;
    return headers;
  }

  private request(req: AnyRequest, headers: http.OutgoingHttpHeaders): http.ClientRequest {
    const mod = this.opts.scheme === 'https' ? https : http;
    return mod.request({
      host: this.opts.target.host,
      port: this.opts.target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
      timeout: DIAL_TIMEOUT_MS,
      setHost: false,
    });
  }

  private warn(what: string, err: unknown): void {
    const { context, pluginType } = this.opts;
    context.logger.warn(`${pluginType}: ${what}`, { proxy: context.proxyName, local: formatHostPort(this.opts.target), reason: describeError(err) });
  }

  forward(req: AnyRequest, res: AnyResponse): void {
    const out = this.request(req, this.outgoingHeaders(req));
    // The timeout bounds only the wait for the connection and the answer head.
    out.once('timeout', () => out.destroy(new Error(`no answer within ${DIAL_TIMEOUT_MS} ms`)));
    out.once('response', (answer) => {
      out.setTimeout(0);
      res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
      answer.pipe(res as NodeJS.WritableStream);
      answer.once('error', () => res.destroy());
    });
    out.once('error', (err) => {
      this.warn('the local service failed', err);
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else res.destroy();
    });
    res.once('close', () => {
      if (!out.writableFinished || !res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }

  /** WebSocket and other HTTP/1.1 upgrades: the answer head goes back as is, then bytes both ways. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const protocol = upgradeProtocol(req.headers);
    const headers = this.outgoingHeaders(req);
    if (protocol) Object.assign(headers, { connection: 'Upgrade', upgrade: protocol });
    const out = this.request(req, headers);
    out.once('timeout', () => out.destroy(new Error(`no answer within ${DIAL_TIMEOUT_MS} ms`)));
    out.once('upgrade', (answer, upstream, upstreamHead) => {
      let lines = `HTTP/1.1 ${answer.statusCode ?? 101} ${answer.statusMessage ?? ''}\r\n`;
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) lines += `${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}\r\n`;
      socket.write(`${lines}\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstream.write(head);
      void relay(socket, upstream);
    });
    out.once('response', (answer) => {
      // Refused upgrade: pass the answer on and close, the connection is not reusable.
      let lines = `HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\n`;
      for (const [name, value] of Object.entries(endToEndHeaders(answer.headers))) lines += `${name}: ${String(value)}\r\n`;
      socket.write(`${lines}connection: close\r\n\r\n`);
      answer.pipe(socket);
    });
    out.once('error', (err) => {
      this.warn('the local service failed an upgrade', err);
      if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    out.end();
  }

  close(): void {
    this.agent.destroy();
  }
}
