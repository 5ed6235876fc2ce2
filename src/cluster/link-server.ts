import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { ServerConfig } from '../config/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { answerLink, LINK_HELLO_WINDOW_MS, type LinkHello } from './link-handshake.js';
import { LinkReplayGuard } from './link-replay.js';

/** Link handshakes in progress at once; more are closed at accept (the link port is for the nodes only). */
const MAX_PENDING_LINKS = 256;

/** What the link port asks of its node: whether it serves a hello, and what to do with a link once it is signed. */
export interface LinkDispatch {
  serves(hello: LinkHello): boolean;
  accepted(hello: LinkHello, socket: Socket): void;
}

/**
 * The node's internal link port (cluster.linkPort): other nodes dial it to
 * hand over a user. It checks each link's signed hello with a bounded number
 * of handshakes at once and says where other nodes reach it.
 */
export class LinkServer {
  /** the address other nodes dial, `host:port` (`[host]:port` for IPv6); empty until listening */
  address = '';
  private server: Server | undefined; // a tls.Server is one too
  private pending = 0;
  private readonly seen = new LinkReplayGuard(LINK_HELLO_WINDOW_MS);

  constructor(
    private readonly cfg: ServerConfig['cluster'],
    private readonly bindAddr: string,
    private readonly dispatch: LinkDispatch,
    private readonly log: Logger,
  ) {}

  /** Listens; `identity` is the server's certificate, for the link when cluster.tls is on. */
  async listen(identity: { cert: string | Buffer; key: string | Buffer }): Promise<void> {
    const accept = (socket: Socket): void => this.accept(socket);
    const server = this.cfg.tls
      ? createTlsServer({ cert: identity.cert, key: identity.key, allowHalfOpen: true }, accept)
      : createServer({ allowHalfOpen: true, noDelay: true }, accept);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new BurrowError('BURROW_LISTEN_FAILED', `cluster.linkPort ${this.bindAddr}:${this.cfg.linkPort} cannot be opened (${err.code ?? err.message})`)),
      );
      server.listen(this.cfg.linkPort, this.bindAddr, () => resolve());
    });
    server.on('error', (err: Error) => this.log.warn('cluster: link accept failed', { reason: describeError(err) }));
    this.server = server;
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : this.cfg.linkPort;
    const wildcard = this.bindAddr === '0.0.0.0' || this.bindAddr === '::' || this.bindAddr === '';
    const host = this.cfg.advertiseAddr || (wildcard ? '127.0.0.1' : this.bindAddr);
    if (!this.cfg.advertiseAddr && wildcard)
      this.log.warn('cluster: bindAddr is a wildcard and cluster.advertiseAddr is empty: other nodes are told 127.0.0.1');
    this.address = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A link from another node: its signed hello, then the node takes the socket. */
  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.pending >= MAX_PENDING_LINKS) {
      this.log.warn('cluster: link refused: too many handshakes in progress', { remote: socket.remoteAddress, limit: MAX_PENDING_LINKS });
      socket.destroy();
      return;
    }
    this.pending += 1;
    answerLink(socket, this.cfg.secret, { address: this.address, seen: this.seen }, (h) => this.dispatch.serves(h))
      .then((hello) => this.dispatch.accepted(hello, socket))
      .catch((err: unknown) => {
        this.log.debug('cluster: link refused', { remote: socket.remoteAddress, reason: describeError(err) });
        socket.destroy();
      })
      .finally(() => {
        this.pending -= 1;
      });
  }
}
