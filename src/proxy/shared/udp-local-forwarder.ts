import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { encodeProxyProtocolHeader, type ProxyProtocolVersion } from '../../protocol/proxy-protocol.js';
import { udpAddressKey, type UdpAddress } from '../../protocol/udp-packet.js';
import { describeError } from '../../util/errors.js';
import { FlowTable } from '../../util/flow-table.js';
import type { Logger } from '../../util/logger.js';
import { UDP_FLOW_RECV_BUFFER } from '../../util/socket-buffers.js';

/** frp closes a visitor's local socket after 30 s without a datagram either way. */
export const UDP_FLOW_IDLE_MS = 30_000;
/** Local sockets one payload stream may hold; the least recently used closes first beyond it. */
export const UDP_MAX_FLOWS = 1024;
/** Datagrams held for a flow whose socket is still connecting. */
const MAX_PENDING_PER_FLOW = 64;

export interface UdpLocalForwarderOptions {
  name: string;
  localIP: string;
  localPort: number;
  /** a reply from the local service for `visitor` */
  onReply(payload: Buffer, visitor: UdpAddress): void;
  logger: Logger;
  /** transport.proxyProtocolVersion: the first datagram of each flow carries a PROXY header, as frp */
  proxyProtocolVersion?: ProxyProtocolVersion;
  idleMs?: number;
  maxFlows?: number;
}

interface LocalFlow {
  readonly socket: Socket;
  /** datagrams that arrived before connect() finished; undefined once connected */
  pending: Buffer[] | undefined;
  /** the PROXY header the flow's first datagram still has to carry */
  header: Buffer | undefined;
}

/**
 * The client end of a udp or sudp tunnel: one UDP socket per visitor address,
 * connected to the local service, so each reply is known to belong to the
 * visitor whose socket received it. Flows expire when idle and are bounded
 * in number.
 */
export class UdpLocalForwarder {
  private readonly flows: FlowTable<LocalFlow>;
  private readonly socketType: 'udp4' | 'udp6';

  constructor(private readonly opts: UdpLocalForwarderOptions) {
    this.socketType = isIP(opts.localIP) === 6 ? 'udp6' : 'udp4';
    this.flows = new FlowTable<LocalFlow>({
      idleMs: opts.idleMs ?? UDP_FLOW_IDLE_MS,
      maxEntries: opts.maxFlows ?? UDP_MAX_FLOWS,
      onEnd: (key, flow, why) => {
        if (why !== 'closed') opts.logger.debug('udp flow ended', { proxy: opts.name, visitor: key, why });
        flow.socket.close();
      },
    });
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** Sends one datagram from `visitor` to the local service. */
  deliver(payload: Buffer, visitor: UdpAddress): void {
    const key = udpAddressKey(visitor);
    const flow = this.flows.touch(key) ?? this.open(key, visitor);
    if (flow.pending) {
      if (flow.pending.length < MAX_PENDING_PER_FLOW) flow.pending.push(payload);
      return;
    }
    this.send(flow, payload);
  }

  close(): void {
    this.flows.clear();
  }

  private open(key: string, visitor: UdpAddress): LocalFlow {
    const { localIP, localPort, logger, name } = this.opts;
    const socket = createSocket({ type: this.socketType, recvBufferSize: UDP_FLOW_RECV_BUFFER });
    const flow: LocalFlow = { socket, pending: [], header: undefined };
    socket.on('message', (reply: Buffer) => {
      // A reply keeps the flow alive as much as a request does.
      this.flows.touch(key);
      this.opts.onReply(reply, visitor);
    });
    socket.on('error', (err: Error) => {
      logger.debug('udp flow failed', { proxy: name, visitor: key, reason: describeError(err) });
      this.flows.delete(key);
    });
    socket.connect(localPort, localIP, () => {
      flow.header = this.proxyProtocolHeader(visitor, socket);
      const queued = flow.pending ?? [];
      flow.pending = undefined;
      for (const p of queued) this.send(flow, p);
    });
    this.flows.add(key, flow);
    return flow;
  }

  /**
   * As frp: from the visitor's address to the local service's (as resolved,
   * so a host name in localIP works), UDP in v2, `PROXY UNKNOWN` in v1.
   */
  private proxyProtocolHeader(visitor: UdpAddress, socket: Socket): Buffer | undefined {
    const version = this.opts.proxyProtocolVersion;
    if (!version) return undefined;
    try {
      const local = socket.remoteAddress();
      return encodeProxyProtocolHeader(version, { address: visitor.ip, port: visitor.port }, { address: local.address, port: local.port }, 'udp');
    } catch {
      return undefined; // closed in between: nothing more is sent on it
    }
  }

  private send(flow: LocalFlow, payload: Buffer): void {
    if (flow.header) {
      // Only the first datagram of a flow: frp prefixes the one that opened it.
      payload = Buffer.concat([flow.header, payload]);
      flow.header = undefined;
    }
    try {
      // Errors (e.g. the service is down: ECONNREFUSED from ICMP) lose this datagram only.
      flow.socket.send(payload, () => {});
    } catch {
      // the socket closed in between: the datagram is lost, as UDP may
    }
  }
}
