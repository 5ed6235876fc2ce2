import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import type { Message } from '../protocol/messages.js';
import type { Admission } from '../transport/index.js';
import { withTimeout } from '../util/timeout.js';

export enum BindConnState {
  /** no Login has succeeded on it yet */
  PreAuth = 'pre-auth',
  /** a Login succeeded on it (or, without tcpMux, its first message was accepted) */
  Trusted = 'trusted',
}

/**
 * One physical connection on the bind port (a yamux session, or a whole
 * socket without tcpMux) as the server's admission rules see it.
 */
export class BindConn {
  state = BindConnState.PreAuth;
  /** yamux streams it opened while PreAuth */
  preAuthStreams = 0;

  constructor(
    /** the peer's IP address (no port) */
    readonly remote: string,
    private readonly admission: Admission | undefined,
    /** destroys the physical connection with everything on it */
    readonly destroy: () => void,
    /** the peer's port, for what reports `ip:port` (server plugins) */
    readonly remotePort = 0,
    /** made inside this process (the SSH gateway's client), never from the network */
    readonly inProcess = false,
  ) {}

  /** The peer proved it knows the token: it leaves the pre-auth counts and deadline. */
  trust(): void {
    this.state = BindConnState.Trusted;
    this.admission?.release();
  }
}

/** A refusal answer must leave within this, or the stream is reset without it. */
const ANSWER_TIMEOUT_MS = 1000;

/**
 * A refused connection gets this long to read its answer before it is reset:
 * a Go yamux stream that sees the reset first drops what it had not read.
 */
const LINGER_MS = 1000;

/**
 * Refuses one logical connection: what it still sends is read and dropped
 * (a refused stream must not buffer), the answer goes out with a FIN, and
 * the stream is destroyed shortly after (a reset, for a yamux stream).
 */
export async function refuseStream(stream: Duplex, answer: Message): Promise<void> {
  stream.on('data', () => {});
  stream.resume();
  setTimeout(() => stream.destroy(), LINGER_MS).unref();
  await withTimeout(writeMessage(stream, answer), ANSWER_TIMEOUT_MS, `${answer.type} answer`).catch(() => {});
  stream.end();
}
