import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Message } from '../protocol/messages.js';
import type { MessageReader, WireProtocol } from '../protocol/wire-codec.js';
import { BurrowError } from '../util/errors.js';
import { type ControlCipher, v1ControlCipher } from './control-cipher.js';

export enum ChannelState {
  Open = 'open',
  Closed = 'closed',
}

/**
 * The control connection after LoginResp: v1 frames inside AES-128-CFB, one IV
 * per direction (ours is sent lazily with our first write), or v2 frames inside
 * AEAD records (control-cipher.ts). Emits 'message'
 * for each decoded message and 'close' once, with the error if one caused it.
 * A malformed or oversize frame closes this channel only.
 */
export class ControlChannel extends EventEmitter {
  state = ChannelState.Open;
  private readonly decoder: MessageReader;
  private readonly cipher: ControlCipher;

  constructor(
    private readonly stream: Duplex,
    /** the v1 cipher key, or the cipher of either protocol */
    key: Buffer | ControlCipher,
    /** Unsent bytes beyond which the peer is taken as not reading and the channel closed. */
    private readonly maxQueuedBytes = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.cipher = Buffer.isBuffer(key) ? v1ControlCipher(key) : key;
    this.decoder = this.cipher.codec.reader();
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.close());
    stream.once('close', () => this.close());
    stream.once('error', (err: Error) => this.close(err));
    // Bytes that arrived behind the login exchange are still buffered in the
    // paused stream; resuming delivers them first, so nothing is lost.
    stream.resume();
  }

  get wireProtocol(): WireProtocol {
    return this.cipher.codec.protocol;
  }

  send(msg: Message): boolean {
    if (this.state !== ChannelState.Open) return false;
    this.stream.write(this.cipher.seal(this.cipher.codec.encode(msg)));
    // Answers (Pong, NewProxyResp) are written whether or not the peer reads them:
    // a peer that never reads must not make us hold them without bound.
    if (this.stream.writableLength > this.maxQueuedBytes) {
      this.close(
        new BurrowError(
          'BURROW_QUEUE_FULL',
          `the peer does not read its control connection: ${this.stream.writableLength} bytes queued (limit ${this.maxQueuedBytes})`,
        ),
      );
      return false;
    }
    return true;
  }

  close(err?: Error): void {
    if (this.state === ChannelState.Closed) return;
    this.state = ChannelState.Closed;
    this.stream.destroy();
    this.emit('close', err);
  }

  private onData(chunk: Buffer): void {
    if (this.state !== ChannelState.Open) return;
    try {
      this.decoder.push(this.cipher.open(chunk));
      let msg: Message | undefined;
      while (this.state === ChannelState.Open && (msg = this.decoder.next())) this.emit('message', msg);
    } catch (err) {
      this.close(err instanceof Error ? err : new BurrowError('BURROW_BAD_FRAME', String(err)));
    }
  }
}
