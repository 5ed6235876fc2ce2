import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { withTimeout } from '../../src/util/timeout.js';
import { queue } from './streams.js';

export interface UdpEchoService {
  port: number;
  /** distinct sender addresses seen so far */
  readonly senders: ReadonlySet<string>;
  close(): Promise<void>;
}

/** A UDP echo service on 127.0.0.1 (port picked by the OS): every datagram goes back to its sender. */
export async function startUdpEcho(): Promise<UdpEchoService> {
  const socket = createSocket('udp4');
  const senders = new Set<string>();
  socket.on('message', (msg, rinfo) => {
    senders.add(`${rinfo.address}:${rinfo.port}`);
    socket.send(msg, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, senders, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** A visitor's UDP socket on 127.0.0.1 whose received datagrams are read in order with next(). */
export class UdpPeer {
  readonly socket: Socket = createSocket('udp4');
  private readonly received = queue<Buffer>();

  private constructor() {
    this.socket.on('message', (msg) => {
      this.log.push(msg);
      this.received.push(msg);
    });
  }

  static async open(): Promise<UdpPeer> {
    const peer = new UdpPeer();
    peer.socket.bind(0, '127.0.0.1');
    await once(peer.socket, 'listening');
    return peer;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(payload: Buffer, port: number): void {
    this.socket.send(payload, port, '127.0.0.1');
  }

  next(timeoutMs: number, what = 'a datagram'): Promise<Buffer> {
    return withTimeout(this.received.next(), timeoutMs, what);
  }

  /** every datagram received so far, in order, whoever it was meant for */
  readonly log: Buffer[] = [];

  /**
   * Sends and waits for the same bytes to come back, sending again (up to
   * `tries` times) when they do not come within `timeoutMs`. Other datagrams
   * received meanwhile (a late answer to an earlier try) are kept in `log`.
   */
  async request(payload: Buffer, port: number, timeoutMs = 1000, tries = 5): Promise<Buffer> {
    for (let i = 1; ; i++) {
      this.send(payload, port);
      const deadline = Date.now() + timeoutMs;
      try {
        for (;;) {
          const got = await this.next(Math.max(1, deadline - Date.now()), 'an answer');
          if (got.equals(payload)) return got;
        }
      } catch (err) {
        if (i >= tries) throw err;
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}

export { udpProxy } from './config.js';
