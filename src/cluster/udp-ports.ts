import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { BurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { LinkedUdpPort } from './linked-udp-port.js';
import type { RemoteRoute } from './remote-routes.js';
import { UdpMirrors } from './udp-mirrors.js';

/** What the udp ports need of their node. */
export interface UdpPortsHost {
  /** claims udp `port` for proxy `name` cluster-wide: false when another client holds it */
  claim(name: string, port: number): Promise<boolean>;
  release(port: number): void;
  /** a link to `route`'s node for user `src` of udp `port` */
  dial(route: RemoteRoute, port: number, src: string): Promise<Socket>;
  /** a port of ours was let go: read the table again, it may be someone else's now */
  freed(): void;
}

/**
 * A node's udp remote ports, both ways: the ones it owns (each a
 * LinkedUdpPort that also serves users other nodes relay here) and the ones
 * other nodes own (UdpMirrors, relaying users there).
 */
export class ClusterUdpPorts {
  private readonly owned = new Map<number, LinkedUdpPort>();
  private readonly mirrors: UdpMirrors;

  constructor(
    proxyBindAddr: string,
    private readonly log: Logger,
    private readonly host: UdpPortsHost,
  ) {
    this.mirrors = new UdpMirrors(proxyBindAddr, log, (p) => this.owned.has(p), host.dial);
  }

  /** udp ports held elsewhere that this node answers too */
  get mirroredPorts(): number[] {
    return this.mirrors.ports;
  }

  /** Follows the table of udp ports held elsewhere. */
  sync(ports: ReadonlyMap<number, RemoteRoute>): Promise<void> {
    return this.mirrors.sync(ports);
  }

  serves(port: number): boolean {
    return this.owned.has(port);
  }

  /** A user another node relays to our `port` (from a checked hello); false when the port is not ours (any more). */
  acceptLink(port: number, link: Socket, src: string, from: string): boolean {
    const owned = this.owned.get(port);
    owned?.acceptLink(link, src, from);
    return owned !== undefined;
  }

  /**
   * The public port of udp proxy `name`, opened by `open` once claimed for
   * this node (port 0: the port `open` picked, claimed after). The claim
   * lasts as long as the port.
   */
  async bind(name: string, port: number, open: (port: number) => Promise<UdpSocket>): Promise<LinkedUdpPort> {
    if (port === 0) {
      for (let i = 0; i < 5; i++) {
        const socket = await open(0);
        const bound = socket.address().port;
        let granted: boolean;
        try {
          granted = await this.host.claim(name, bound);
        } catch (err) {
          socket.close();
          throw err;
        }
        if (granted) return this.hold(socket, bound);
        socket.close(); // held by another node: try another
      }
      throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": no free port left in the allowed ranges`);
    }
    if (!(await this.host.claim(name, port))) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": remote UDP port ${port} is already in use`);
    try {
      // Ours now: the mirror of its previous owner's port gives way.
      await this.mirrors.drop(port);
      return this.hold(await open(port), port);
    } catch (err) {
      this.host.release(port);
      throw err;
    }
  }

  private hold(socket: UdpSocket, port: number): LinkedUdpPort {
    const linked = new LinkedUdpPort(socket, this.log);
    this.owned.set(port, linked);
    linked.once('close', () => {
      if (this.owned.get(port) === linked) this.owned.delete(port);
      this.host.release(port);
      this.host.freed();
    });
    return linked;
  }

  close(): Promise<void> {
    return this.mirrors.close();
  }
}
