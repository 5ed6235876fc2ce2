import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import { wrapPayload, type PayloadTransformOptions } from '../proxy/payload-transform.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { relay, type TrafficCounter } from '../util/pipe.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';
import { StreamReader } from '../util/stream-reader.js';
import { VhostRouter } from '../vhost/router.js';
import { ClientHelloReader } from '../vhost/sni.js';

/** What one registered https proxy contributes to the SNI router. */
export interface HttpsRoute {
  readonly proxyName: string;
  readonly payload: PayloadTransformOptions;
  readonly traffic: TrafficCounter;
  getWorkConn(): Promise<Duplex>;
  active: number;
}

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
  readonly router = new VhostRouter<HttpsRoute>();
  private server: Server | undefined;
  private readonly visitors = new Set<Socket>();

  constructor(private readonly opts: VhostHttpsOptions) {}

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get connectionCount(): number {
    return this.visitors.size;
  }

  async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: RELAY_HIGH_WATER_MARK }, (socket) => {
      this.visitors.add(socket);
      socket.once('close', () => this.visitors.delete(socket));
      socket.on('error', () => {});
      this.serve(socket).catch((err: unknown) => {
        this.opts.logger.debug('https connection dropped', { remote: socket.remoteAddress, reason: describeError(err) });
        socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.logger.info('https vhost listening', { addr: `${this.opts.host}:${this.port}` });
  }

  close(): Promise<void> {
    for (const v of this.visitors) v.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
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
      this.opts.logger.debug('https connection refused: no proxy for this name', { remote: visitor.remoteAddress, sni: serverName ?? '(none)' });
      visitor.destroy();
      return;
    }
    const raw = await route.getWorkConn();
    raw.on('error', () => {});
    await writeMessage(raw, {
      type: 'StartWorkConn',
      body: {
        proxy_name: route.proxyName,
        src_addr: unmapped(visitor.remoteAddress),
        src_port: visitor.remotePort,
        dst_addr: unmapped(visitor.localAddress),
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

function unmapped(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
