import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../../control/message-io.js';
import type { NewProxy, StartWorkConn } from '../../protocol/messages.js';
import type { Logger } from '../../util/logger.js';
import { describeError } from '../../util/errors.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import { hostPort, visitorAddress } from '../../util/address.js';
import { wrapPayload, type PayloadTransformOptions } from '../payload-transform.js';
import type { ProxyOwner, ServerProxyContext, UserConnCheck } from '../server-context.js';
import { requestedPort } from '../shared/remote-port.js';
import type { ServerProxy } from '../types.js';

const ignoreError = (): void => {};
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
  /** the server plugins' NewUserConn check; absent when none is configured */
  admitUser?: UserConnCheck;
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
    // on(), not once(), and a shared no-op: every idle visitor holds these.
    visitor.on('close', () => this.visitors.delete(visitor));
    // Errors before the relay starts are handled below; after, by relay().
    visitor.on('error', ignoreError);
    void this.serve(visitor);
  }

  private async serve(visitor: Socket): Promise<void> {
    const log = this.opts.logger;
    const { admitUser } = this.opts;
    if (admitUser && !(await admitUser(hostPort(visitor.remoteAddress, visitor.remotePort)))) {
      visitor.destroy();
      return;
    }
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

/** The server half of a `tcp` NewProxy: its own public port, or a share of its group's. */
export async function createTcpServerProxy(ctx: ServerProxyContext, owner: ProxyOwner, name: string, msg: NewProxy): Promise<ServerProxy> {
  const port = requestedPort(ctx, owner, name, msg);
  const common = {
    name,
    payload: ctx.payloadOptions(msg, owner),
    getWorkConn: () => owner.getWorkConn(),
    admitUser: ctx.userConnCheck(owner, name, 'tcp', msg),
    logger: owner.log,
  };
  if (!msg.group) {
    return new TcpServerProxy({ ...common, listener: await ctx.listenProxyPort(name, port, owner) });
  }
  const group = await ctx.tcpGroups.groupFor(name, msg.group, msg.group_key ?? '', port, (p) => ctx.listenProxyPort(name, p, owner));
  const member = new TcpServerProxy({ ...common, listener: group });
  group.join(member);
  return member;
}
