import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import { wrapPayload } from '../proxy/payload-transform.js';
import { BurrowError, describeError, isBurrowError } from '../util/errors.js';
import type { TrafficCounter } from '../relay/pipe.js';
import { StreamReader, writeAll } from '../util/stream-reader.js';
import { BodyFramer, requestBodyKind, responseBodyKind } from '../vhost/body-framer.js';
import { rewriteRequestHead, rewriteResponseHead, type RequestIdentity } from '../vhost/head-rewrite.js';
import {
  acmeChallengeResponse,
  gatewayTimeoutResponse,
  httpsRedirectResponse,
  notFoundResponse,
  proxyAuthRequiredResponse,
  responseForRequestError,
  unauthorizedResponse,
} from '../vhost/pages.js';
import {
  isKeepAlive,
  RequestHeadParser,
  requestHost,
  requestPath,
  requestRouteUser,
  basicAuth,
  targetNamesHost,
  type RequestHead,
} from '../vhost/request-head.js';
import { headerTokens, isInterimResponse, isUnrequestedSwitch, ResponseHeadParser, switchesToTunnel, type ResponseHead } from '../vhost/response-head.js';
import { endVisitor, relayElsewhere, relayIfOpen, VhostServer } from './vhost-server.js';
import { visitorAddress } from '../util/address.js';
import { sameSecret } from '../util/secret.js';
import type { HttpRoute } from '../vhost/routes.js';
import type { VhostHttpOptions, VhostProto } from './vhost-http-options.js';

export type { HttpAcmeHooks, VhostHttpOptions, VhostProto } from './vhost-http-options.js';

const REQUEST_HEAD_TIMEOUT_MS = 60_000;
const IDLE_TIMEOUT_MS = 60_000;
/** Between reads of a body already under way. */
const BODY_IDLE_TIMEOUT_MS = 120_000;

interface Backend {
  route: HttpRoute;
  work: Duplex;
  reader: StreamReader;
}

/**
 * The shared HTTP port: each request head is parsed (bounded), routed by
 * host, path and route user, rewritten, and its body relayed with its own
 * framing, so a keep-alive connection is routed again at every request. The
 * backend of a connection is a work connection of the routed proxy, kept while
 * consecutive requests go to the same proxy. Upgrades (WebSocket) and CONNECT
 * become a raw two-way relay.
 */
export class VhostHttpServer extends VhostServer<HttpRoute> {
  constructor(private readonly opts: VhostHttpOptions) {
    super('http', opts.host, opts.port, opts.logger, opts.gate, opts.owners);
  }

  protected serve(visitor: Socket): Promise<void> {
    return this.serveConnection(visitor, 'http');
  }

  /**
   * One decrypted connection from the HTTPS vhost (TLS terminated with a
   * certificate from src/acme/), routed exactly as a plain one. The HTTPS
   * listener has admitted and counts the underlying socket.
   */
  serveTerminated(visitor: Socket): Promise<void> {
    return this.serveConnection(visitor, 'https');
  }

  private async serveConnection(visitor: Socket, proto: VhostProto): Promise<void> {
    const reader = new StreamReader(visitor);
    let backend: Backend | undefined;
    const dropBackend = (): void => {
      if (!backend) return;
      backend.route.active -= 1;
      backend.work.destroy();
      backend = undefined;
    };
    try {
      for (let first = true; ; first = false) {
        const head = await this.readRequestHead(reader, visitor, first);
        if (!head) {
          await this.endVisitor(visitor);
          return;
        }
        const pendingAnswer = proto === 'http' ? this.acmeAnswer(head) : undefined;
        const acmeAnswer = pendingAnswer instanceof Promise ? await pendingAnswer : pendingAnswer;
        if (acmeAnswer) {
          await this.answer(visitor, acmeAnswer);
          return;
        }
        const route = this.router.lookup(requestHost(head), requestPath(head), requestRouteUser(head));
        const origin = route && proto === 'http' ? this.opts.acme?.httpsOrigin(requestHost(head), requestPath(head)) : undefined;
        if (origin) {
          await this.answer(visitor, httpsRedirectResponse(origin + (head.target.startsWith('/') ? head.target : '/')));
          return;
        }
        // The first request decides for the connection: a group member elsewhere takes it whole.
        const elsewhere = route && !first ? undefined : this.opts.remote?.(requestHost(head), visitor, route !== undefined);
        if (elsewhere) {
          // Held by another node: it gets this request and the rest of the connection.
          dropBackend();
          await relayElsewhere(reader, elsewhere, head.raw);
          return;
        }
        // A visitor whose address the proxy's IP rules exclude is closed without an answer, before any byte reaches the client.
        if (route?.admitAddress && !route.admitAddress(visitor.remoteAddress ?? '')) {
          visitor.destroy();
          return;
        }
        // Undefined at once when no login concerns this request, so other requests await nothing here.
        const ssoPending = this.opts.sso?.check(head, proto, route, (path) => this.router.lookup(requestHost(head), path, requestRouteUser(head)));
        const sso = ssoPending ? await ssoPending : undefined;
        if (sso && 'answer' in sso) {
          await this.answer(visitor, sso.answer);
          return;
        }
        if (!route) {
          await this.answer(visitor, notFoundResponse(this.opts.custom404Page));
          return;
        }
        if (route.httpUser !== '' || route.httpPassword !== '') {
          // As frp: a proxy-style request (`GET http://host/…`, the vhost used as an HTTP proxy) is
          // checked on Proxy-Authorization only and refused with 407; a direct one on Authorization, 401.
          const proxyStyle = targetNamesHost(head);
          const creds = basicAuth(head, proxyStyle ? 'proxy-authorization' : 'authorization');
          if (!creds || !sameSecret(creds.user, route.httpUser) || !sameSecret(creds.password, route.httpPassword)) {
            await this.answer(visitor, proxyStyle ? proxyAuthRequiredResponse() : unauthorizedResponse());
            return;
          }
        }
        if (backend && (backend.route !== route || backend.work.destroyed)) dropBackend();
        if (!backend) {
          try {
            backend = await this.openBackend(route, visitor);
          } catch (err) {
            this.opts.logger.warn('http request dropped: no work connection', { proxy: route.proxyName, reason: describeError(err) });
            await this.answer(visitor, this.backendFailed());
            return;
          }
        }
        const keepOpen = await this.exchange(head, reader, visitor, backend, proto, sso?.identity);
        if (keepOpen === 'tunnel') {
          backend = undefined; // the relay owns the work connection now
          return;
        }
        if (!keepOpen) {
          await this.endVisitor(visitor);
          return;
        }
      }
    } catch (err) {
      this.opts.logger.debug('http connection closed', { remote: visitor.remoteAddress, reason: describeError(err) });
      visitor.destroy();
    } finally {
      dropBackend();
    }
  }

  /**
   * The next request head, or undefined when the visitor closed between
   * requests. Bad heads are answered here. The head has one deadline, counted
   * from the accept for the first request and from the first byte for later
   * ones, so a peer trickling bytes cannot keep it open; the silence before a
   * later request has the idle deadline. Both throw BURROW_TIMEOUT.
   */
  private async readRequestHead(reader: StreamReader, visitor: Socket, first: boolean): Promise<RequestHead | undefined> {
    const parser = new RequestHeadParser();
    const headMs = this.opts.requestHeadTimeoutMs ?? REQUEST_HEAD_TIMEOUT_MS;
    let deadline = first ? Date.now() + headMs : undefined;
    for (;;) {
      const chunk =
        deadline === undefined
          ? await reader.read(this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS, 'keep-alive connection idle')
          : await reader.read(Math.max(1, deadline - Date.now()), 'http request head');
      if (chunk === null) return undefined;
      deadline ??= Date.now() + headMs;
      let head: RequestHead | undefined;
      try {
        head = parser.push(chunk);
      } catch (err) {
        if (isBurrowError(err)) {
          this.opts.logger.debug('bad http request', { remote: visitor.remoteAddress, reason: err.message });
          await this.answer(visitor, responseForRequestError(err.code));
          return undefined;
        }
        throw err;
      }
      if (head) {
        reader.unshift(parser.takeRemainder());
        return head;
      }
    }
  }

  private async openBackend(route: HttpRoute, visitor: Socket): Promise<Backend> {
    const raw = await route.getWorkConn();
    raw.on('error', () => {});
    try {
      await writeMessage(raw, {
        type: 'StartWorkConn',
        body: { proxy_name: route.proxyName, src_addr: visitorAddress(visitor.remoteAddress), src_port: visitor.remotePort },
      });
    } catch (err) {
      raw.destroy();
      throw err;
    }
    const work = wrapPayload(raw, route.payload);
    work.on('error', () => {});
    route.active += 1;
    return { route, work, reader: new StreamReader(work) };
  }

  /**
   * One request and its response. Resolves true when the connection stays
   * open for another request, false when it must close, 'tunnel' when it
   * became a raw relay (Upgrade / CONNECT) that now owns both sockets.
   */
  private async exchange(
    head: RequestHead,
    reader: StreamReader,
    visitor: Socket,
    backend: Backend,
    proto: VhostProto,
    identity: RequestIdentity | undefined,
  ): Promise<boolean | 'tunnel'> {
    const { route, work } = backend;
    const out = rewriteRequestHead(head, {
      clientIp: visitorAddress(visitor.remoteAddress),
      proto,
      hostRewrite: route.hostRewrite,
      setHeaders: route.setHeaders,
      identity,
    });
    route.traffic.bytesIn += out.length;
    try {
      await writeAll(work, out);
    } catch {
      await this.answer(visitor, this.backendFailed());
      return false;
    }
    let tunnelled = false;
    let bodySent = false;
    // Settled at once into true/false so a failure here can never become an unhandled rejection.
    const requestSent = this.forwardBody(new BodyFramer(requestBodyKind(head), { side: 'request' }), reader, work, route.traffic, true).then(
      () => (bodySent = true),
      () => {
        // A visitor gone (or its body broken) mid-request: its answer no longer matters, so the
        // backend is released now rather than waited on until the response timeout.
        if (!tunnelled) work.destroy();
        return false;
      },
    );
    const interim = { continued: false };
    const response = await this.forwardResponse(head, backend, visitor, interim);
    if (response === 'tunnel') {
      tunnelled = true;
      // Bytes either side already sent past the heads stay buffered in the streams and belong to the tunnel.
      reader.detach();
      backend.reader.detach();
      // Node settles a removed 'readable' listener on the next tick; resuming before that keeps the stream paused.
      process.nextTick(() => {
        void relayIfOpen(visitor, work, route.traffic).finally(() => (route.active -= 1));
      });
      return 'tunnel';
    }
    // Turned down before a 100 Continue (a 417, an early 413): the visitor may never send the body it
    // was holding back, and whatever it sends later cannot be told from a next request.
    if (!bodySent && !interim.continued && headerTokens(head.headers, 'expect').includes('100-continue')) return false;
    const sent = await requestSent;
    return response && sent && isKeepAlive(head.version, head.headers);
  }

  /** The answer to an ACME HTTP-01 check of an order under way, before any route is consulted (the name may have none yet). */
  private acmeAnswer(head: RequestHead): Buffer | undefined | Promise<Buffer | undefined> {
    if (!this.opts.acme || head.method !== 'GET') return undefined;
    const answer = (keyAuthorization: string | undefined): Buffer | undefined =>
      keyAuthorization === undefined ? undefined : acmeChallengeResponse(keyAuthorization);
    const keyAuthorization = this.opts.acme.http01Answer(requestPath(head));
    return keyAuthorization instanceof Promise ? keyAuthorization.then(answer) : answer(keyAuthorization);
  }

  /** Relays one body as framed; bytes past its end go back to the reader for the next message. */
  private async forwardBody(framer: BodyFramer, from: StreamReader, to: Duplex, traffic: TrafficCounter, inbound: boolean): Promise<void> {
    while (!framer.done) {
      const chunk = await from.read(BODY_IDLE_TIMEOUT_MS, 'http body');
      if (chunk === null) {
        if (framer.completeAtClose) return;
        throw new BurrowError('BURROW_CLOSED', 'connection closed in the middle of a body');
      }
      const n = framer.consume(chunk);
      if (n < chunk.length) from.unshift(chunk.subarray(n));
      if (n === 0) continue;
      const part = n === chunk.length ? chunk : chunk.subarray(0, n);
      if (inbound) traffic.bytesIn += n;
      else traffic.bytesOut += n;
      await writeAll(to, part);
    }
  }

  /** The response (after any interim 1xx ones): true = keep-alive possible, false = close, 'tunnel'. */
  private async forwardResponse(req: RequestHead, backend: Backend, visitor: Socket, interim: { continued: boolean }): Promise<boolean | 'tunnel'> {
    const { route, reader } = backend;
    for (;;) {
      let res: ResponseHead | undefined;
      try {
        res = await this.readResponseHead(reader);
      } catch (err) {
        if (isBurrowError(err, 'BURROW_TIMEOUT')) {
          this.opts.logger.warn('backend response timed out', { proxy: route.proxyName, seconds: this.opts.responseTimeoutSec });
          await this.answer(visitor, gatewayTimeoutResponse());
        } else {
          // The client could not reach its local service, or the backend sent garbage.
          this.opts.logger.warn('backend failed before responding', { proxy: route.proxyName, reason: describeError(err) });
          await this.answer(visitor, this.backendFailed());
        }
        return false;
      }
      if (!res) {
        await this.answer(visitor, this.backendFailed());
        return false;
      }
      if (isUnrequestedSwitch(req, res)) {
        this.opts.logger.warn('backend switched protocols without an Upgrade request', { proxy: route.proxyName });
        await this.answer(visitor, this.backendFailed());
        return false;
      }
      const out = rewriteResponseHead(res, route.responseHeaders);
      route.traffic.bytesOut += out.length;
      // The head and the body bytes that arrived with it leave in one write (measured: about a
      // third less server CPU per small request); uncorked once this turn's writes are queued.
      visitor.cork();
      setImmediate(() => visitor.uncork());
      await writeAll(visitor, out);
      if (switchesToTunnel(req.method, res)) return 'tunnel';
      if (isInterimResponse(res)) {
        if (res.status === 100) interim.continued = true;
        continue;
      }
      const framer = new BodyFramer(responseBodyKind(req.method, res), { side: 'response' });
      await this.forwardBody(framer, reader, visitor, route.traffic, false);
      return framer.kind.type !== 'until-close' && isKeepAlive(res.version, res.headers);
    }
  }

  private async readResponseHead(reader: StreamReader): Promise<ResponseHead | undefined> {
    const parser = new ResponseHeadParser();
    const deadline = Date.now() + this.opts.responseTimeoutSec * 1000;
    for (;;) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'http response head');
      if (chunk === null) return undefined;
      const head = parser.push(chunk);
      if (head) {
        reader.unshift(parser.takeRemainder());
        return head;
      }
    }
  }

  /**
   * A tunnel or backend that failed (no work connection, the local service
   * unreachable or hanging up, a malformed answer): frps's reverse proxy
   * answers these with its not-found page, and so do we; only a timeout is 504.
   */
  private backendFailed(): Buffer {
    return notFoundResponse(this.opts.custom404Page);
  }

  private answer(visitor: Socket, response: Buffer): Promise<void> {
    return endVisitor(visitor, this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS, response);
  }

  private endVisitor(visitor: Socket): Promise<void> {
    return endVisitor(visitor, this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
  }
}
