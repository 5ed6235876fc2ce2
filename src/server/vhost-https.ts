import type { Socket } from 'node:net';
import type { Logger } from '../util/logger.js';
import { StreamReader } from '../util/stream-reader.js';
import { ClientHelloReader } from '../vhost/sni.js';
import type { DomainOwners } from '../vhost/domain-owners.js';
import type { ConnectionRoute } from '../vhost/routes.js';
import type { VhostConnectionGate } from './vhost-gate.js';
import { endVisitor, relayElsewhere, relayWholeConnection, VhostServer, type RemoteDomains } from './vhost-server.js';

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
}

/**
 * The shared HTTPS port: reads the TLS ClientHello without terminating TLS
 * (a bounded peek), routes by its server name, and pipes the whole TLS
 * stream, ClientHello included, to a work connection of the owning client.
 * An unknown name or a connection without SNI is closed.
 */
export class VhostHttpsServer extends VhostServer<ConnectionRoute> {
  constructor(private readonly opts: VhostHttpsOptions) {
    super('https', opts.host, opts.port, opts.logger, opts.gate, opts.owners);
  }

  protected async serve(visitor: Socket): Promise<void> {
    const reader = new StreamReader(visitor);
    const hello = new ClientHelloReader();
    const deadline = Date.now() + this.opts.helloTimeoutMs;
    let serverName: string | undefined;
    for (;;) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'TLS ClientHello');
      if (chunk === null) {
        await endVisitor(visitor, this.opts.lingerMs);
        return;
      }
      const info = hello.push(chunk);
      if (info) {
        serverName = info.serverName;
        break;
      }
    }
    const route = serverName ? this.router.lookup(serverName, '', '') : undefined;
    const elsewhere = route || !serverName ? undefined : this.opts.remote?.(serverName, visitor);
    if (elsewhere) return relayElsewhere(reader, elsewhere, hello.buffered());
    if (!route) {
      this.opts.logger.debug('https connection refused: no proxy for this name', { remote: visitor.remoteAddress, sni: serverName ?? '(none)' });
      visitor.destroy();
      return;
    }
    await relayWholeConnection(visitor, reader, route, hello.buffered());
  }
}
