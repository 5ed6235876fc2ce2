import type { Socket } from 'node:net';
import { writeMessage } from '../control/message-io.js';
import type { ConnectionRoute } from '../proxy/domain-routed.js';
import { wrapPayload } from '../proxy/payload-transform.js';
import { visitorAddress } from '../util/address.js';
import { sameSecret } from '../util/secret.js';
import { isBurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { relay } from '../util/pipe.js';
import { StreamReader } from '../util/stream-reader.js';
import { CONNECT_ESTABLISHED, ConnectRequestParser, type ConnectRequest } from '../vhost/connect-request.js';
import { notFoundResponse, proxyAuthRequiredResponse, responseForRequestError } from '../vhost/pages.js';
import { VhostRouter } from '../vhost/router.js';
import { VhostListener } from './vhost-listener.js';

export interface VhostTcpmuxOptions {
  host: string;
  port: number;
  /** frp tcpmuxPassthrough: forward the CONNECT request itself instead of answering 200 */
  passthrough: boolean;
  logger: Logger;
}

/** frp: the CONNECT request must arrive within 30 s. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The tcpmux port (multiplexer `httpconnect`): a visitor sends
 * `CONNECT host:port`, is routed by host and Proxy-Authorization user to a
 * tcpmux proxy, and from then on its bytes are relayed raw.
 */
export class VhostTcpmuxServer {
  readonly router = new VhostRouter<ConnectionRoute>();
  private readonly listener: VhostListener;

  constructor(private readonly opts: VhostTcpmuxOptions) {
    this.listener = new VhostListener('tcpmux', opts.host, opts.port, opts.logger, (v) => this.serve(v));
  }

  get port(): number {
    return this.listener.port;
  }

  get connectionCount(): number {
    return this.listener.connectionCount;
  }

  listen(): Promise<void> {
    return this.listener.listen();
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private async readConnect(reader: StreamReader, visitor: Socket): Promise<ConnectRequest | undefined> {
    const parser = new ConnectRequestParser();
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'CONNECT request');
      if (chunk === null) return undefined;
      try {
        const req = parser.push(chunk);
        if (req) {
          reader.unshift(parser.takeRemainder());
          return req;
        }
      } catch (err) {
        if (!isBurrowError(err)) throw err;
        visitor.end(responseForRequestError(err.code));
        return undefined;
      }
    }
  }

  private async serve(visitor: Socket): Promise<void> {
    const reader = new StreamReader(visitor);
    const req = await this.readConnect(reader, visitor);
    if (!req) return;
    const route = req.head.method === 'CONNECT' ? this.router.lookup(req.host, '', req.user) : undefined;
    if (!route) {
      visitor.end(notFoundResponse());
      return;
    }
    if (route.httpUser !== '' || route.httpPassword !== '') {
      const c = req.credentials;
      if (!c || !sameSecret(c.user, route.httpUser) || !sameSecret(c.password, route.httpPassword)) {
        visitor.end(proxyAuthRequiredResponse());
        return;
      }
    }
    const raw = await route.getWorkConn();
    raw.on('error', () => {});
    await writeMessage(raw, {
      type: 'StartWorkConn',
      body: {
        proxy_name: route.proxyName,
        src_addr: visitorAddress(visitor.remoteAddress),
        src_port: visitor.remotePort,
        dst_addr: visitorAddress(visitor.localAddress),
        dst_port: visitor.localPort,
      },
    });
    const work = wrapPayload(raw, route.payload);
    if (this.opts.passthrough) work.write(req.head.raw);
    else visitor.write(CONNECT_ESTABLISHED);
    reader.detach();
    route.active += 1;
    // Node settles the removed 'readable' listener on the next tick; resuming before that keeps the stream paused.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await relay(visitor, work, { counter: route.traffic });
    route.active -= 1;
  }
}
