import type { Socket } from 'node:net';
import { writeMessage } from '../control/message-io.js';
import { wrapPayload } from '../proxy/payload-transform.js';
import type { ConnectionRoute } from '../proxy/domain-routed.js';
import type { Logger } from '../util/logger.js';
import { relay } from '../util/pipe.js';
import { StreamReader } from '../util/stream-reader.js';
import { VhostRouter } from '../vhost/router.js';
import { ClientHelloReader } from '../vhost/sni.js';
import { VhostListener } from './vhost-listener.js';
import { visitorAddress } from '../util/address.js';

export interface VhostHttpsOptions {
  host: string;
  port: number;
  logger: Logger;
}

/** frp: the ClientHello must arrive within 30 s. */
const SNI_TIMEOUT_MS = 30_000;

/**
 * The shared HTTPS port: reads the TLS ClientHello without terminating TLS
 * (a bounded peek), routes by its server name, and pipes the whole TLS
 * stream, ClientHello included, to a work connection of the owning client.
 * An unknown name or a connection without SNI is closed.
 */
export class VhostHttpsServer {
  readonly router = new VhostRouter<ConnectionRoute>();
  private readonly listener: VhostListener;

  constructor(opts: VhostHttpsOptions) {
    this.listener = new VhostListener('https', opts.host, opts.port, opts.logger, (v) => this.serve(v));
    this.log = opts.logger;
  }

  private readonly log: Logger;

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

  private async serve(visitor: Socket): Promise<void> {
    const reader = new StreamReader(visitor);
    const hello = new ClientHelloReader();
    const deadline = Date.now() + SNI_TIMEOUT_MS;
    let serverName: string | undefined;
    for (;;) {
      const chunk = await reader.read(Math.max(1, deadline - Date.now()), 'TLS ClientHello');
      if (chunk === null) return;
      const info = hello.push(chunk);
      if (info) {
        serverName = info.serverName;
        break;
      }
    }
    const route = serverName ? this.router.lookup(serverName, '', '') : undefined;
    if (!route) {
      this.log.debug('https connection refused: no proxy for this name', { remote: visitor.remoteAddress, sni: serverName ?? '(none)' });
      visitor.destroy();
      return;
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
    const peeked = hello.buffered();
    route.traffic.bytesIn += peeked.length;
    work.write(peeked);
    reader.detach();
    route.active += 1;
    // Node settles the removed 'readable' listener on the next tick; resuming before that keeps the stream paused.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await relay(visitor, work, { counter: route.traffic });
    route.active -= 1;
  }
}
