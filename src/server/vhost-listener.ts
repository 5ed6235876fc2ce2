import { createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';

/**
 * The public listener shared by the vhost kinds (http, https, tcpmux): owns
 * the socket server and the set of visitor sockets, hands each visitor to
 * `serve`, and destroys the visitor when `serve` fails.
 */
export class VhostListener {
  private server: Server | undefined;
  private readonly visitors = new Set<Socket>();

  constructor(
    private readonly kind: string,
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly log: Logger,
    private readonly serve: (visitor: Socket) => Promise<void>,
  ) {}

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
        this.log.debug(`${this.kind} connection dropped`, { remote: socket.remoteAddress, reason: describeError(err) });
        socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.wantedPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.info(`${this.kind} vhost listening`, { addr: `${this.host}:${this.port}` });
  }

  close(): Promise<void> {
    for (const v of this.visitors) v.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
