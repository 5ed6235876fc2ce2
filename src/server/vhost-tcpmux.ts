import type { Socket } from 'node:net';
import { sameSecret } from '../util/secret.js';
import { isBurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { StreamReader } from '../util/stream-reader.js';
import { CONNECT_ESTABLISHED, ConnectRequestParser, type ConnectRequest } from '../vhost/connect-request.js';
import { notFoundResponse, proxyAuthRequiredResponse, responseForRequestError } from '../vhost/pages.js';
import type { DomainOwners } from '../vhost/domain-owners.js';
import type { ConnectionRoute } from '../vhost/routes.js';
import type { VhostConnectionGate } from './vhost-gate.js';
import { endVisitor, relayElsewhere, relayWholeConnection, VhostServer, type RemoteDomains } from './vhost-server.js';

export interface VhostTcpmuxOptions {
  host: string;
  port: number;
  /** frp tcpmuxPassthrough: forward the CONNECT request itself instead of answering 200 */
  passthrough: boolean;
  logger: Logger;
  gate: VhostConnectionGate;
  /** the domain owners shared by the vhost kinds */
  owners?: DomainOwners;
  /** the cluster's other nodes, for domains no proxy here serves */
  remote?: RemoteDomains;
  /** the whole CONNECT request must arrive this long after the accept (frp: 30 s; here limits.vhostHeaderTimeout) */
  connectTimeoutMs: number;
  /** how long a visitor we have ended may keep its side open (limits.vhostIdleTimeout) */
  lingerMs: number;
}

/**
 * The tcpmux port (multiplexer `httpconnect`): a visitor sends
 * `CONNECT host:port`, is routed by host and Proxy-Authorization user to a
 * tcpmux proxy, and from then on its bytes are relayed raw.
 */
export class VhostTcpmuxServer extends VhostServer<ConnectionRoute> {
  constructor(private readonly opts: VhostTcpmuxOptions) {
    super('tcpmux', opts.host, opts.port, opts.logger, opts.gate, opts.owners);
  }

  private async readConnect(reader: StreamReader, visitor: Socket): Promise<ConnectRequest | undefined> {
    const parser = new ConnectRequestParser();
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    for (;;) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'CONNECT request');
      if (chunk === null) {
        await endVisitor(visitor, this.opts.lingerMs);
        return undefined;
      }
      try {
        const req = parser.push(chunk);
        if (req) {
          reader.unshift(parser.takeRemainder());
          return req;
        }
      } catch (err) {
        if (!isBurrowError(err)) throw err;
        await endVisitor(visitor, this.opts.lingerMs, responseForRequestError(err.code));
        return undefined;
      }
    }
  }

  protected async serve(visitor: Socket): Promise<void> {
    const reader = new StreamReader(visitor);
    const req = await this.readConnect(reader, visitor);
    if (!req) return;
    const route = req.head.method === 'CONNECT' ? this.router.lookup(req.host, '', req.user) : undefined;
    // Held by another node: it reads the CONNECT request again and answers it.
    // With a route here, a load-balancing group with members on other nodes may still give it to one of those.
    const elsewhere = req.head.method !== 'CONNECT' ? undefined : this.opts.remote?.(req.host, visitor, route !== undefined);
    if (elsewhere) return relayElsewhere(reader, elsewhere, req.head.raw);
    if (!route) {
      await endVisitor(visitor, this.opts.lingerMs, notFoundResponse());
      return;
    }
    if (route.httpUser !== '' || route.httpPassword !== '') {
      const c = req.credentials;
      if (!c || !sameSecret(c.user, route.httpUser) || !sameSecret(c.password, route.httpPassword)) {
        await endVisitor(visitor, this.opts.lingerMs, proxyAuthRequiredResponse());
        return;
      }
    }
    // Passthrough hands the CONNECT request itself to the backend; otherwise we answer it.
    if (!this.opts.passthrough) visitor.write(CONNECT_ESTABLISHED);
    await relayWholeConnection(visitor, reader, route, this.opts.passthrough ? req.head.raw : undefined);
  }
}
