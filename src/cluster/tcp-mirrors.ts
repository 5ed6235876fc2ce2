import { createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';
import type { RemoteRoute } from './remote-routes.js';

interface Mirror {
  server: Server;
  route: RemoteRoute;
  sockets: Set<Socket>;
}

/**
 * The tcp remote ports other nodes hold, opened on this node too (on its
 * proxyBindAddr, same port numbers): a user who reaches any node's address
 * gets the tunnel, relayed to its owner by `relay`. Follows the remote routes
 * table; a port this node holds itself, or that is busy here, is not mirrored.
 */
export class TcpMirrors {
  private readonly mirrors = new Map<number, Mirror>();
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly log: Logger,
    /** ports this node serves itself */
    private readonly isLocal: (port: number) => boolean,
    private readonly relay: (route: RemoteRoute, port: number, visitor: Socket) => void,
  ) {}

  /** Opens and closes mirrors to match `ports` (the tcp ports held elsewhere now). */
  async sync(ports: ReadonlyMap<number, RemoteRoute>): Promise<void> {
    if (this.closed) return;
    for (const [port, m] of this.mirrors) {
      const now = ports.get(port);
      if (!now) await this.drop(port);
      else m.route = now; // moved to another node: new connections follow it
    }
    for (const [port, route] of ports) {
      if (this.mirrors.has(port) || this.isLocal(port)) continue;
      await this.open(port, route);
    }
  }

  private async open(port: number, route: RemoteRoute): Promise<void> {
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: RELAY_HIGH_WATER_MARK });
    const mirror: Mirror = { server, route, sockets };
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      this.relay(mirror.route, port, socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.host, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Busy here (another program, or a registration racing us): tried again at the next refresh.
      this.log.debug('cluster: cannot mirror a remote port', { port, reason: describeError(err) });
      return;
    }
    server.on('error', (err: Error) => this.log.warn('cluster: mirror accept failed', { port, reason: describeError(err) }));
    if (this.closed || this.isLocal(port)) {
      server.close();
      return;
    }
    this.mirrors.set(port, mirror);
    this.log.debug('cluster: mirroring a remote port', { port, owner: route.holder.n });
  }

  /** Stops mirroring `port`: its owner moved here, or it is gone. Users mid-connection to the old owner are cut off. */
  async drop(port: number): Promise<void> {
    const m = this.mirrors.get(port);
    if (!m) return;
    this.mirrors.delete(port);
    for (const s of m.sockets) s.destroy();
    await new Promise<void>((resolve) => m.server.close(() => resolve()));
  }

  get ports(): number[] {
    return [...this.mirrors.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const port of [...this.mirrors.keys()]) await this.drop(port);
  }
}
