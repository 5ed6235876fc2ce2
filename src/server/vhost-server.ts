import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import { wrapPayload } from '../proxy/payload-transform.js';
import { hostPort, visitorAddress } from '../util/address.js';
import { relay, type TrafficCounter } from '../relay/pipe.js';
import type { StreamReader } from '../util/stream-reader.js';
import type { DomainOwners } from '../vhost/domain-owners.js';
import type { ConnectionRoute } from '../vhost/routes.js';
import { VhostRouter } from '../vhost/router.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';
import type { VhostConnectionGate } from './vhost-gate.js';

/**
 * The public listener shared by the vhost kinds (http, https, tcpmux): owns
 * the socket server and the set of visitor sockets, admits each visitor
 * through the shared connection gate, hands it to `serve`, and destroys it
 * when `serve` fails.
 */
export class VhostListener {
  private server: Server | undefined;
  private readonly visitors = new Set<Socket>();

  constructor(
    private readonly kind: string,
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly log: Logger,
    private readonly gate: VhostConnectionGate,
    private readonly serve: (visitor: Socket) => Promise<void>,
  ) {}

  /** set when the port is the server's bindPort (frp's port sharing): visitors come through accept() */
  private sharedPort = 0;
  private closed = false;

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.sharedPort;
  }

  /** One visitor, from this listener or handed over by the bind port's demultiplexer. */
  accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.closed) return void socket.destroy();
    const release = this.gate.admit(socket.remoteAddress);
    if (!release) {
      this.log.debug(`${this.kind} connection refused: too many open vhost connections`, { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    this.visitors.add(socket);
    socket.once('close', () => {
      this.visitors.delete(socket);
      release();
    });
    this.serve(socket).catch((err: unknown) => {
      this.log.debug(`${this.kind} connection dropped`, { remote: socket.remoteAddress, reason: describeError(err) });
      socket.destroy();
    });
  }

  /** Serves visitors handed over from the bind port instead of listening (frp's port sharing). */
  share(port: number): void {
    this.sharedPort = port;
    this.log.info(`${this.kind} vhost shares the bind port`, { addr: `${this.host}:${port}` });
  }

  get connectionCount(): number {
    return this.visitors.size;
  }

  async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: RELAY_HIGH_WATER_MARK }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${err.code ?? err.message})`;
        reject(new BurrowError('BURROW_LISTEN_FAILED', `${this.kind} vhost port ${this.host}:${this.wantedPort} ${why}`));
      });
      server.listen(this.wantedPort, this.host, () => {
        server.removeAllListeners('error');
        // An accept failure (say, out of file descriptors) must not take the whole server down.
        server.on('error', (err: Error) => this.log.warn(`${this.kind} vhost accept failed`, { reason: describeError(err) }));
        resolve();
      });
    });
    this.server = server;
    this.log.info(`${this.kind} vhost listening`, { addr: `${this.host}:${this.port}` });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const v of this.visitors) v.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Where a vhost sends a visitor whose domain no proxy of this server serves:
 * undefined when no other node of the cluster holds it either, else the
 * relay, which takes the bytes already read from the visitor and then the
 * rest of its connection. With `local` (a route here serves the domain) it
 * is asked whether the domain's load-balancing group gives this visitor to
 * a member on another node.
 */
export type RemoteDomains = (domain: string, visitor: Socket, local?: boolean) => ((preface: Buffer) => Promise<void>) | undefined;

/** Hands a visitor to another node's relay: the reader lets go of the socket, whose unread bytes follow `preface`. */
export async function relayElsewhere(reader: StreamReader, relay: (preface: Buffer) => Promise<void>, preface: Buffer): Promise<void> {
  reader.detach();
  // Node settles a removed 'readable' listener on the next tick; resuming before that keeps the stream paused.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  await relay(preface);
}

/**
 * What every vhost kind shares: a router of its own and a listener whose
 * visitors go to the subclass's `serve`.
 */
export abstract class VhostServer<T> {
  readonly router: VhostRouter<T>;
  private readonly listener: VhostListener;

  constructor(kind: string, host: string, port: number, log: Logger, gate: VhostConnectionGate, owners?: DomainOwners) {
    this.router = new VhostRouter<T>(owners);
    this.listener = new VhostListener(kind, host, port, log, gate, (v) => this.serve(v));
  }

  protected abstract serve(visitor: Socket): Promise<void>;

  get port(): number {
    return this.listener.port;
  }

  get connectionCount(): number {
    return this.listener.connectionCount;
  }

  listen(): Promise<void> {
    return this.listener.listen();
  }

  /** Takes visitors from the bind port (frp's port sharing) instead of listening. */
  share(port: number): void {
    this.listener.share(port);
  }

  accept(visitor: Socket): void {
    this.listener.accept(visitor);
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

/**
 * Ends our side of a visitor connection, after `last` if given, and resolves
 * once that is written. The listener allows half-open connections, so a
 * visitor that never closes its own side would hold the socket for good: it
 * is destroyed `lingerMs` after our end.
 */
export function endVisitor(visitor: Socket, lingerMs: number, last?: Buffer): Promise<void> {
  if (visitor.destroyed) return Promise.resolve();
  const timer = setTimeout(() => visitor.destroy(), lingerMs).unref();
  visitor.once('close', () => clearTimeout(timer));
  // A socket left paused with unread bytes never sees the visitor's FIN or
  // reset: whatever still comes is read and dropped until the linger ends.
  visitor.removeAllListeners('readable');
  visitor.on('data', () => {});
  process.nextTick(() => visitor.resume());
  return new Promise<void>((resolve) => (last ? visitor.end(last, () => resolve()) : visitor.end(() => resolve())));
}

/**
 * relay() waits for events that a stream destroyed earlier has already sent,
 * so a relay started on a closed end would hold the other end forever: both
 * go at once instead.
 */
export async function relayIfOpen(visitor: Socket, work: Duplex, counter: TrafficCounter): Promise<void> {
  if (visitor.destroyed || work.destroyed) {
    visitor.destroy();
    work.destroy();
    return;
  }
  await relay(visitor, work, { counter });
}

/**
 * Joins a visitor whose whole connection belongs to `route` (https after the
 * SNI peek, tcpmux after CONNECT) with a work connection: StartWorkConn with
 * the addresses, `preface` (bytes already read that the backend must see),
 * then a raw relay until both sides are done.
 */
export async function relayWholeConnection(visitor: Socket, reader: StreamReader, route: ConnectionRoute, preface?: Buffer): Promise<void> {
  if (route.admitUser && !(await route.admitUser(hostPort(visitor.remoteAddress, visitor.remotePort)))) {
    throw new BurrowError('BURROW_PLUGIN_REJECTED', 'user connection rejected by a server plugin');
  }
  const raw = await route.getWorkConn();
  raw.on('error', () => {});
  try {
    // The visitor may have gone while a work connection was being fetched.
    if (visitor.destroyed) throw new BurrowError('BURROW_CLOSED', 'the visitor closed before a work connection was ready');
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
  } catch (err) {
    raw.destroy();
    throw err;
  }
  const work = wrapPayload(raw, route.payload);
  work.on('error', () => {});
  if (preface && preface.length > 0) {
    route.traffic.bytesIn += preface.length;
    work.write(preface);
  }
  reader.detach();
  route.active += 1;
  try {
    // Node settles a removed 'readable' listener on the next tick; resuming before that keeps the stream paused.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await relayIfOpen(visitor, work, route.traffic);
  } finally {
    route.active -= 1;
  }
}
