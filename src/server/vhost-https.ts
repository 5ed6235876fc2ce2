import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { ACME_TLS_ALPN } from '../acme/challenges.js';
import { BurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { StreamReader } from '../util/stream-reader.js';
import { ClientHelloReader, type ClientHelloInfo } from '../vhost/sni.js';
import type { DomainOwners } from '../vhost/domain-owners.js';
import type { ConnectionRoute } from '../vhost/routes.js';
import type { VhostConnectionGate } from './vhost-gate.js';
import { endVisitor, relayElsewhere, relayWholeConnection, VhostServer, type RemoteDomains } from './vhost-server.js';

/**
 * TLS terminated here (automatic HTTPS): the certificates the server holds
 * and where the decrypted stream goes. Absent when acme is off.
 */
export interface TlsTermination {
  /** the TLS-ALPN-01 certificate of `name` while its order waits for the CA (in a cluster, perhaps another node's order, read from Redis) */
  challengeContext(name: string): SecureContext | undefined | Promise<SecureContext | undefined>;
  /** the certificate to serve `name` with, when it has one and an http proxy routes it */
  certificateFor(name: string): SecureContext | undefined;
  /** the HTTP vhost's handling of one connection, for the decrypted stream */
  serve(decrypted: Socket): Promise<void>;
}

export interface VhostHttpsOptions {
  host: string;
  port: number;
  logger: Logger;
  gate: VhostConnectionGate;
  /** the domain owners shared by the vhost kinds */
  owners?: DomainOwners;
  /** the cluster's other nodes, for domains no proxy here serves */
  remote?: RemoteDomains;
  /** the whole ClientHello must arrive this long after the accept (frp: 30 s; here limits.vhostHeaderTimeout) */
  helloTimeoutMs: number;
  /** how long a visitor we have ended may keep its side open (limits.vhostIdleTimeout) */
  lingerMs: number;
  termination?: TlsTermination;
}

/**
 * The shared HTTPS port: reads the TLS ClientHello without terminating TLS
 * (a bounded peek) and routes by its server name. A name an `https` proxy
 * serves gets the whole TLS stream, ClientHello included, piped to a work
 * connection of the owning client (SNI passthrough, as frp). Otherwise, a
 * name with a certificate of ours (automatic HTTPS) has its TLS terminated
 * here and its requests handed to the HTTP vhost; an ACME TLS-ALPN-01 check
 * gets its challenge certificate. Anything else is closed.
 */
export class VhostHttpsServer extends VhostServer<ConnectionRoute> {
  constructor(private readonly opts: VhostHttpsOptions) {
    super('https', opts.host, opts.port, opts.logger, opts.gate, opts.owners);
  }

  protected async serve(visitor: Socket): Promise<void> {
    const reader = new StreamReader(visitor);
    const hello = new ClientHelloReader();
    const deadline = Date.now() + this.opts.helloTimeoutMs;
    let info: ClientHelloInfo | undefined;
    while (!info) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'TLS ClientHello');
      if (chunk === null) {
        await endVisitor(visitor, this.opts.lingerMs);
        return;
      }
      info = hello.push(chunk);
    }
    const name = info.serverName;
    const termination = this.opts.termination;
    if (name && termination && info.alpnProtocols.includes(ACME_TLS_ALPN)) {
      // A CA's validation: it offers acme-tls/1 only, and wants the challenge certificate and nothing more.
      const found = termination.challengeContext(name);
      const context = found instanceof Promise ? await found : found;
      if (context) {
        const tls = await this.handshake(visitor, reader, hello, context, [ACME_TLS_ALPN], deadline);
        tls.end();
        return;
      }
    }
    const route = name ? this.router.lookup(name, '', '') : undefined;
    // A load-balancing group with members on other nodes too: this connection may be one of theirs.
    const spread = route && name ? this.opts.remote?.(name, visitor, true) : undefined;
    if (spread) return relayElsewhere(reader, spread, hello.buffered());
    if (route) {
      await relayWholeConnection(visitor, reader, route, hello.buffered());
      return;
    }
    const context = name ? termination?.certificateFor(name) : undefined;
    if (name && termination && context) {
      const tls = await this.handshake(visitor, reader, hello, context, ['http/1.1'], deadline);
      await termination.serve(tls);
      return;
    }
    // Held by another node of the cluster: it gets the whole connection, ClientHello included.
    const elsewhere = name ? this.opts.remote?.(name, visitor) : undefined;
    if (elsewhere) return relayElsewhere(reader, elsewhere, hello.buffered());
    this.opts.logger.debug('https connection refused: no proxy for this name', { remote: visitor.remoteAddress, sni: name ?? '(none)' });
    visitor.destroy();
  }

  /**
   * TLS terminated on the visitor: the ClientHello already read goes back
   * into the socket for Node's TLS to read first, and the handshake must end
   * by the ClientHello's deadline. Resolves with the decrypted socket.
   */
  private handshake(
    visitor: Socket,
    reader: StreamReader,
    hello: ClientHelloReader,
    secureContext: SecureContext,
    alpn: string[],
    deadline: number,
  ): Promise<TLSSocket> {
    reader.detach();
    visitor.unshift(hello.buffered());
    const tls = new TLSSocket(visitor, { isServer: true, secureContext, ALPNProtocols: alpn });
    tls.on('error', () => {});
    return new Promise<TLSSocket>((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        tls.destroy();
        reject(err);
      };
      const closed = (): void => fail(new BurrowError('BURROW_CLOSED', 'closed during the TLS handshake'));
      const timer = setTimeout(() => fail(new BurrowError('BURROW_TIMEOUT', 'TLS handshake timed out')), Math.max(1, deadline - Date.now()));
      tls.once('secure', () => {
        clearTimeout(timer);
        tls.off('error', fail);
        tls.off('close', closed);
        resolve(tls);
      });
      tls.once('error', fail);
      tls.once('close', closed);
    });
  }
}
