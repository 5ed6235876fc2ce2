import type { AddressInfo } from 'node:net';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP, type Socket } from 'node:net';
import { udpAddressFrom, udpAddressKey } from '../protocol/udp-packet.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { DatagramReader, datagramFrame } from './datagram-frames.js';

/** User addresses other nodes may relay to one port at once (the udp proxy remembers as many). */
const MAX_LINKED_FLOWS = 4096;
/**
 * A relayed flow silent this long is closed here. The relaying node closes
 * its side after 60 s of silence; this is the backstop for one that did not.
 */
const LINKED_FLOW_IDLE_MS = 120_000;
/** Bytes queued toward a relaying node per flow; datagrams beyond are dropped, as a full socket buffer would. */
const MAX_LINK_BACKLOG = 1024 * 1024;

/**
 * A udp proxy's public port on the node that owns it: the bound socket, plus
 * the users other nodes relay here, each over one link of its own (one user
 * address of this port). Their datagrams come out as 'message' events with
 * the user's address, as if they had reached this socket; a reply to that
 * address goes back over its link, so it leaves from the node the user sent
 * to. The udp proxy sees no difference (it takes the same few calls a
 * dgram socket answers).
 */
export class LinkedUdpPort extends EventEmitter {
  private readonly links = new Map<string, Socket>();
  /**
   * Linked addresses whose last datagram came over their link, not straight
   * to this socket: their replies go back the way they came. (One address
   * may reach two nodes; it is answered from where it sent last.)
   */
  private readonly viaLink = new Set<string>();
  private closed = false;

  constructor(
    private readonly socket: UdpSocket,
    private readonly log: Logger,
  ) {
    super();
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      // Only while some user is relayed here does a datagram cost an address lookup.
      if (this.viaLink.size > 0) this.viaLink.delete(udpAddressKey(udpAddressFrom(rinfo.address, rinfo.port)));
      this.emit('message', msg, rinfo);
    });
    socket.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.once('close', () => {
      this.closed = true;
      for (const link of this.links.values()) link.destroy();
      this.links.clear();
      this.viaLink.clear();
      this.emit('close');
    });
  }

  address(): AddressInfo {
    return this.socket.address();
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Users relayed here right now. */
  get linkedFlows(): number {
    return this.links.size;
  }

  send(msg: Buffer, port: number, address: string, callback: (err: Error | null) => void): void {
    const key = udpAddressKey(udpAddressFrom(address, port));
    const link = this.viaLink.has(key) ? this.links.get(key) : undefined;
    if (!link) {
      this.socket.send(msg, port, address, callback);
      return;
    }
    if (link.writableLength <= MAX_LINK_BACKLOG) link.write(datagramFrame(msg));
    callback(null);
  }

  close(callback?: () => void): void {
    this.socket.close(callback);
  }

  /** A user of this port that reached node `from` at `src` (ip:port, from the signed hello): its datagrams come over `link`. */
  acceptLink(link: Socket, src: string, from: string): void {
    const colon = src.lastIndexOf(':');
    const ip = src.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(src.slice(colon + 1));
    if (this.closed || isIP(ip) === 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
      link.destroy();
      return;
    }
    if (this.links.size >= MAX_LINKED_FLOWS) {
      this.log.warn('cluster: relayed udp user refused: too many at once', { port: this.port, node: from, limit: MAX_LINKED_FLOWS });
      link.destroy();
      return;
    }
    const key = udpAddressKey(udpAddressFrom(ip, port));
    // The same address again (its node redialled): the newer link carries the replies.
    this.links.get(key)?.destroy();
    this.links.set(key, link);
    const family = isIP(ip) === 6 ? 'IPv6' : 'IPv4';
    const reader = new DatagramReader();
    link.setTimeout(LINKED_FLOW_IDLE_MS, () => link.destroy());
    link.on('data', (chunk: Buffer) => {
      let datagrams: Buffer[];
      try {
        datagrams = reader.push(chunk);
      } catch (err) {
        // That user's flow alone ends; its node dials again at its next datagram.
        this.log.warn('cluster: bad frame on a udp link, closing it', { port: this.port, node: from, reason: describeError(err) });
        link.destroy();
        return;
      }
      if (datagrams.length > 0) this.viaLink.add(key);
      for (const d of datagrams) this.emit('message', d, { address: ip, port, family, size: d.length } satisfies RemoteInfo);
    });
    link.on('end', () => link.end());
    link.resume(); // the handshake left it paused
    link.once('close', () => {
      if (this.links.get(key) !== link) return;
      this.links.delete(key);
      this.viaLink.delete(key);
    });
  }
}
