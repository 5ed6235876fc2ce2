import type { Duplex } from 'node:stream';
import type { ServerLink } from '../client/server-connection.js';
import { YamuxSession } from '../mux/session.js';
import { duplexPair } from '../util/duplex-pair.js';
import { BurrowError } from '../util/errors.js';

/**
 * The link of an SSH tunnel's client to the server it runs in: a yamux
 * session over an in-memory pair, whose far end the server takes as if it
 * had been accepted on bindPort (as frp's gateway does with its virtual
 * client). Login, proxy registration and work connections go through the
 * server's own code, so every server rule applies to SSH tunnels too.
 */
export class InProcessLink implements ServerLink {
  private mux: YamuxSession | undefined;
  private closed = false;

  constructor(private readonly enter: (serverEnd: Duplex) => void) {}

  async open(onClose: (err?: Error) => void): Promise<Duplex> {
    if (this.closed || this.mux) throw new BurrowError('BURROW_CLOSED', 'the in-process link is closed');
    const [clientEnd, serverEnd] = duplexPair();
    // No keepalive pings of our own: both ends live in this process (the server's pings are answered).
    const mux = new YamuxSession(clientEnd, { client: true, keepaliveIntervalMs: 0 });
    mux.on('error', () => {});
    mux.once('close', (err?: Error) => onClose(err));
    this.mux = mux;
    this.enter(serverEnd);
    return mux.open();
  }

  async openStream(): Promise<Duplex> {
    if (this.closed || !this.mux) throw new BurrowError('BURROW_CLOSED', 'the in-process link is closed');
    return this.mux.open();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mux?.destroy();
  }
}
