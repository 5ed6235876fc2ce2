import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { VisitorConfig } from '../../config/types.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import type { VisitorLink } from '../client-context.js';
import { openVisitorConn, visitorCipherKey } from '../shared/visitor-conn.js';
import { listenVisitorPort } from '../shared/visitor-listener.js';
import { VisitorState, type ClientVisitor } from '../types.js';

/**
 * The visiting side of an stcp proxy: a local TCP listener (none when
 * bindPort is negative: then only an xtcp visitor falling back hands it
 * connections); every accepted connection becomes its own visitor connection
 * to the server, relayed byte for byte.
 */
export class StcpVisitor implements ClientVisitor {
  state = VisitorState.Idle;
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  private listener: Server | undefined;
  private readonly conns = new Set<Duplex>();
  private readonly key: Buffer | undefined;

  constructor(
    readonly config: VisitorConfig,
    private readonly link: VisitorLink,
    private readonly log: Logger,
  ) {
    this.key = visitorCipherKey(config);
  }

  get name(): string {
    return this.config.name;
  }

  /** The bound local port (0 without a listener). */
  get port(): number {
    return (this.listener?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const { bindAddr, bindPort } = this.config;
    try {
      this.listener = await listenVisitorPort(this.config, (socket) => this.handleConn(socket));
    } catch (err) {
      this.state = VisitorState.Failed;
      throw err;
    }
    this.state = VisitorState.Running;
    this.log.info('visitor listening', { visitor: this.name, type: 'stcp', bind: bindPort > 0 ? `${bindAddr}:${this.port}` : '(none)' });
  }

  /** Serves one local connection (from our listener, or handed over by an xtcp visitor). */
  handleConn(local: Duplex): void {
    if (this.state !== VisitorState.Running) {
      local.destroy();
      return;
    }
    this.conns.add(local);
    local.once('close', () => this.conns.delete(local));
    local.on('error', () => {});
    void this.serve(local);
  }

  private async serve(local: Duplex): Promise<void> {
    let remote: Duplex;
    try {
      remote = await openVisitorConn(this.link, this.config, this.key);
    } catch (err) {
      this.log.warn('visitor connection failed', { visitor: this.name, code: err instanceof BurrowError ? err.code : undefined, reason: describeError(err) });
      local.destroy();
      return;
    }
    if (local.destroyed) {
      remote.destroy();
      return;
    }
    this.conns.add(remote);
    remote.once('close', () => this.conns.delete(remote));
    await relay(local, remote, { counter: this.traffic });
  }

  close(): void {
    if (this.state === VisitorState.Closed) return;
    this.state = VisitorState.Closed;
    this.listener?.close();
    for (const c of this.conns) c.destroy();
  }
}
