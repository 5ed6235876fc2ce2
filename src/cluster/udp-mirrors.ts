import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket } from 'node:net';
import { hostPort } from '../util/address.js';
import { describeError } from '../util/errors.js';
import { FlowTable } from '../util/flow-table.js';
import type { Logger } from '../util/logger.js';
import { DatagramReader, datagramFrame } from './datagram-frames.js';
import type { RemoteRoute } from './remote-routes.js';

/** A user address silent this long (either way) is forgotten and its link closed (the udp proxy's own idle time). */
const FLOW_IDLE_MS = 60_000;
/** User addresses one mirrored port relays at once; the least recently used makes room. */
const MAX_FLOWS_PER_PORT = 1024;
/** Datagrams held per user while its link is being dialled. */
const MAX_PENDING = 64;
/** Bytes queued toward the owner per user; datagrams beyond are dropped, as a full socket buffer would. */
const MAX_BACKLOG = 1024 * 1024;
/** After a failed dial, a user's datagrams are dropped this long before the owner is dialled again. */
const REDIAL_AFTER_MS = 1000;
/**
 * Links being dialled at once per mirrored port: new user addresses beyond
 * wait (their datagrams dropped) so that a flood of spoofed sources costs the
 * owner a bounded number of handshakes, not one per packet.
 */
const MAX_DIALS_PER_PORT = 32;

enum FlowState {
  Dialling = 'dialling',
  Open = 'open',
  Failed = 'failed',
  Closed = 'closed',
}

/** One user address of a mirrored port, and its link to the owner. */
interface Flow {
  state: FlowState;
  link: Socket | undefined;
  pending: Buffer[];
  failedAt: number;
}

interface Mirror {
  socket: UdpSocket;
  route: RemoteRoute;
  flows: FlowTable<Flow>;
  /** links being dialled now */
  dialling: number;
}

/**
 * The udp remote ports other nodes hold, bound on this node too (its
 * proxyBindAddr, same numbers), as TcpMirrors does for tcp: each user
 * address gets one link to the owner (`dial`), carrying its datagrams there
 * and the replies back, which leave from this node's socket so the user sees
 * them come from where it sent. Bounded: users per port (least recently used
 * evicted), idle expiry, datagrams held while dialling, bytes queued per link.
 */
export class UdpMirrors {
  private readonly mirrors = new Map<number, Mirror>();
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly log: Logger,
    /** udp ports this node serves itself */
    private readonly isLocal: (port: number) => boolean,
    /** a link to `route`'s node for user `src` of `port`, ready for datagrams */
    private readonly dial: (route: RemoteRoute, port: number, src: string) => Promise<Socket>,
  ) {}

  /** Binds and closes mirrors to match `ports` (the udp ports held elsewhere now). */
  async sync(ports: ReadonlyMap<number, RemoteRoute>): Promise<void> {
    if (this.closed) return;
    for (const [port, m] of this.mirrors) {
      const now = ports.get(port);
      if (!now) await this.drop(port);
      else if (now.holder.l !== m.route.holder.l) {
        // Moved (the old owner may be dead, and a dead peer's link can stay open for minutes): every user dials the new owner.
        m.route = now;
        for (const flow of m.flows.values()) flow.link?.destroy();
      } else m.route = now;
    }
    for (const [port, route] of ports) {
      if (this.mirrors.has(port) || this.isLocal(port)) continue;
      await this.open(port, route);
    }
  }

  private async open(port: number, route: RemoteRoute): Promise<void> {
    const socket = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: this.host, port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Busy here (another program, or a registration racing us): tried again at the next refresh.
      this.log.debug('cluster: cannot mirror a remote udp port', { port, reason: describeError(err) });
      socket.close();
      return;
    }
    if (this.closed || this.isLocal(port)) {
      socket.close();
      return;
    }
    const flows = new FlowTable<Flow>({
      idleMs: FLOW_IDLE_MS,
      maxEntries: MAX_FLOWS_PER_PORT,
      onEnd: (_key, flow) => {
        flow.state = FlowState.Closed;
        flow.pending = [];
        flow.link?.destroy();
      },
    });
    const mirror: Mirror = { socket, route, flows, dialling: 0 };
    socket.on('error', (err: Error) => this.log.warn('cluster: udp mirror socket error', { port, reason: describeError(err) }));
    socket.on('message', (payload: Buffer, rinfo: RemoteInfo) => this.onDatagram(mirror, port, payload, rinfo));
    this.mirrors.set(port, mirror);
    this.log.debug('cluster: mirroring a remote udp port', { port, owner: route.holder.n });
  }

  private onDatagram(m: Mirror, port: number, payload: Buffer, rinfo: RemoteInfo): void {
    const key = hostPort(rinfo.address, rinfo.port);
    let flow = m.flows.touch(key);
    if (!flow) {
      flow = { state: FlowState.Failed, link: undefined, pending: [], failedAt: 0 };
      m.flows.add(key, flow);
    }
    if (flow.state === FlowState.Failed && Date.now() - flow.failedAt >= REDIAL_AFTER_MS) this.connect(m, port, key, flow, rinfo);
    if (flow.state === FlowState.Open && flow.link) {
      if (flow.link.writableLength <= MAX_BACKLOG) flow.link.write(datagramFrame(payload));
    } else if (flow.state === FlowState.Dialling && flow.pending.length < MAX_PENDING) {
      flow.pending.push(payload);
    }
  }

  /** Dials the owner for one user; its datagrams then go there and the replies come back here. */
  private connect(m: Mirror, port: number, key: string, flow: Flow, rinfo: RemoteInfo): void {
    if (m.dialling >= MAX_DIALS_PER_PORT) {
      flow.failedAt = Date.now();
      return;
    }
    flow.state = FlowState.Dialling;
    m.dialling += 1;
    const route = m.route;
    const dialled = this.dial(route, port, key).finally(() => {
      m.dialling -= 1;
    });
    dialled.then(
      (link) => {
        if (flow.state === FlowState.Closed) {
          link.destroy();
          return;
        }
        flow.state = FlowState.Open;
        flow.link = link;
        for (const p of flow.pending.splice(0)) link.write(datagramFrame(p));
        const reader = new DatagramReader();
        link.on('data', (chunk: Buffer) => {
          let replies: Buffer[];
          try {
            replies = reader.push(chunk);
          } catch (err) {
            this.log.warn('cluster: bad frame from a udp owner, closing that link', { port, owner: route.holder.n, reason: describeError(err) });
            link.destroy();
            return;
          }
          if (replies.length > 0) m.flows.touch(key);
          for (const r of replies) m.socket.send(r, rinfo.port, rinfo.address, () => {});
        });
        link.on('end', () => link.end());
        link.resume(); // the handshake left it paused
        link.once('close', () => {
          // The owner went or let the user go: the next datagram dials again (perhaps a new owner).
          if (flow.state !== FlowState.Open || flow.link !== link) return;
          flow.state = FlowState.Failed;
          flow.link = undefined;
          flow.failedAt = 0;
        });
      },
      (err: unknown) => {
        if (flow.state === FlowState.Closed) return;
        flow.state = FlowState.Failed;
        flow.failedAt = Date.now();
        flow.pending = [];
        this.log.warn('cluster: udp datagrams dropped: their owner did not answer', { port, owner: route.holder.n, reason: describeError(err) });
      },
    );
  }

  /** Stops mirroring `port`: its owner moved here, or it is gone. */
  async drop(port: number): Promise<void> {
    const m = this.mirrors.get(port);
    if (!m) return;
    this.mirrors.delete(port);
    m.flows.clear();
    await new Promise<void>((resolve) => m.socket.close(() => resolve()));
  }

  get ports(): number[] {
    return [...this.mirrors.keys()];
  }

  /** Users relayed through this node right now, over every mirrored port. */
  get flows(): number {
    let n = 0;
    for (const m of this.mirrors.values()) n += m.flows.size;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const port of [...this.mirrors.keys()]) await this.drop(port);
  }
}
