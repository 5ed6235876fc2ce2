import { connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import type { StartWorkConn } from '../protocol/messages.js';
import type { Logger } from '../util/logger.js';
import { describeError } from '../util/errors.js';
import { relay, type TrafficCounter } from '../relay/pipe.js';
import { visitorAddress } from '../util/address.js';
import { withRelayBuffers } from '../util/socket-buffers.js';
import { wrapPayload, type PayloadTransformOptions } from './payload-transform.js';
import type { ClientProxyHandler, ServerProxy } from './types.js';

/** How long the client waits for the local service to accept (frp: 10 s). */
const LOCAL_DIAL_TIMEOUT_MS = 10_000;

/** A shared public port of a load-balancing group: it hands each visitor to one member. */
export interface TcpProxyGroup {
  readonly port: number;
  leave(member: TcpServerProxy): void;
}

export interface TcpServerProxyOptions {
  name: string;
  /** the proxy's own public listener, or its group's shared one */
  listener: Server | TcpProxyGroup;
  payload: PayloadTransformOptions;
  /** a work connection of the owning client (waits, bounded, when none is idle) */
  getWorkConn(): Promise<Duplex>;
  logger: Logger;
}

/**
 * Server half of a `tcp` proxy: every visitor accepted on the public port gets
 * one work connection of the owning client, announced with StartWorkConn, then
 * the two are relayed byte for byte.
 */
export class TcpServerProxy implements ServerProxy {
  readonly type = 'tcp';
  readonly name: string;
  readonly remoteAddr: string;
  readonly portsUsed = 1;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private readonly visitors = new Set<Socket>();

  constructor(private readonly opts: TcpServerProxyOptions) {
    this.name = opts.name;
    const l = opts.listener;
    if ('leave' in l) {
      this.remoteAddr = `:${l.port}`;
    } else {
      const addr = l.address();
      this.remoteAddr = `:${typeof addr === 'object' && addr ? addr.port : 0}`;
      l.on('connection', (socket: Socket) => this.accept(socket));
      // An accept failure (say, out of file descriptors) must not take the whole server down.
      l.on('error', (err: Error) => opts.logger.warn('tcp proxy accept failed', { proxy: opts.name, reason: describeError(err) }));
    }
  }

  get port(): number {
    return Number(this.remoteAddr.slice(1));
  }

  get activeConnections(): number {
    return this.visitors.size;
  }

  /** Serves one visitor accepted on the public port (own or the group's). */
  accept(visitor: Socket): void {
    this.visitors.add(visitor);
    visitor.setNoDelay(true);
    visitor.once('close', () => this.visitors.delete(visitor));
    // Errors before the relay starts are handled below; after, by relay().
    visitor.on('error', () => {});
    void this.serve(visitor);
  }

  private async serve(visitor: Socket): Promise<void> {
    const log = this.opts.logger;
    let work: Duplex;
    try {
      work = await this.opts.getWorkConn();
    } catch (err) {
      log.warn('visitor dropped: no work connection', { proxy: this.name, remote: visitor.remoteAddress, reason: describeError(err) });
      visitor.destroy();
      return;
    }
    if (visitor.destroyed) {
      work.destroy();
      return;
    }
    const start: StartWorkConn = {
      proxy_name: this.name,
      src_addr: visitorAddress(visitor.remoteAddress),
      src_port: visitor.remotePort,
      dst_addr: visitorAddress(visitor.localAddress),
      dst_port: visitor.localPort,
    };
    try {
      await writeMessage(work, { type: 'StartWorkConn', body: start });
    } catch (err) {
      log.warn('visitor dropped: work connection failed', { proxy: this.name, reason: describeError(err) });
      work.destroy();
      visitor.destroy();
      return;
    }
    // relay() waits for events a socket destroyed meanwhile has already sent: it would hold the work connection for good.
    if (visitor.destroyed) {
      work.destroy();
      return;
    }
    log.debug('visitor connected', { proxy: this.name, remote: `${start.src_addr}:${start.src_port}` });
    await relay(visitor, wrapPayload(work, this.opts.payload), { counter: this.traffic });
  }

  close(): Promise<void> {
    for (const v of this.visitors) v.destroy();
    const l = this.opts.listener;
    if ('leave' in l) {
      l.leave(this);
      return Promise.resolve();
    }
    return new Promise((resolve) => l.close(() => resolve()));
  }
}

export interface TcpClientProxyOptions {
  name: string;
  localIP: string;
  localPort: number;
  payload: PayloadTransformOptions;
  logger: Logger;
  /** watches each relayed connection from the side (the HTTP inspector); `toLocal` carries plain bytes */
  observe?: (toLocal: Duplex, local: Socket, start: StartWorkConn) => void;
}

/** Client half of a `tcp` proxy: each started work connection is joined to a fresh local connection. */
export class TcpClientProxy implements ClientProxyHandler {
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };

  constructor(private readonly opts: TcpClientProxyOptions) {}

  handleWorkConn(work: Duplex, start: StartWorkConn): void {
    const { localIP, localPort, logger } = this.opts;
    const local = connect(withRelayBuffers({ host: localIP, port: localPort, allowHalfOpen: true, noDelay: true }));
    const timer = setTimeout(() => local.destroy(new Error(`timed out after ${LOCAL_DIAL_TIMEOUT_MS} ms`)), LOCAL_DIAL_TIMEOUT_MS);
    const onDialError = (err: Error): void => {
      clearTimeout(timer);
      logger.warn('cannot reach the local service', { proxy: this.opts.name, local: `${localIP}:${localPort}`, reason: describeError(err) });
      work.destroy();
    };
    local.once('error', onDialError);
    local.once('connect', () => {
      clearTimeout(timer);
      local.off('error', onDialError);
      logger.debug('work connection started', { proxy: this.opts.name, remote: `${start.src_addr ?? ''}:${start.src_port ?? ''}` });
      const plain = wrapPayload(work, this.opts.payload);
      this.opts.observe?.(plain, local, start);
      void relay(plain, local, { counter: this.traffic });
    });
  }
}
