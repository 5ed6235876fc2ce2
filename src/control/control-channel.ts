import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { MessageDecoder, encodeMessage } from '../protocol/codec.js';
import { CfbDecryptor, CfbEncryptor } from '../protocol/crypto.js';
import type { Message } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';

export enum ChannelState {
  Open = 'open',
  Closed = 'closed',
}

/**
 * The control connection after LoginResp: v1 frames inside AES-128-CFB, one IV
 * per direction (ours is sent lazily with our first write). Emits 'message'
 * for each decoded message and 'close' once, with the error if one caused it.
 * A malformed or oversize frame closes this channel only.
 */
export class ControlChannel extends EventEmitter {
  state = ChannelState.Open;
  private readonly decoder = new MessageDecoder();
  private readonly decryptor: CfbDecryptor;
  private readonly encryptor: CfbEncryptor;

  constructor(
    private readonly stream: Duplex,
    key: Buffer,
    /** Unsent bytes beyond which the peer is taken as not reading and the channel closed. */
    private readonly maxQueuedBytes = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.decryptor = new CfbDecryptor(key);
    this.encryptor = new CfbEncryptor(key);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.close());
    stream.once('close', () => this.close());
    stream.once('error', (err: Error) => this.close(err));
    // Bytes that arrived behind the login exchange are still buffered in the
    // paused stream; resuming delivers them first, so nothing is lost.
    stream.resume();
  }

  send(msg: Message): boolean {
    if (this.state !== ChannelState.Open) return false;
    this.stream.write(this.encryptor.update(encodeMessage(msg)));
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
      this.decoder.push(this.decryptor.update(chunk));
      let msg: Message | undefined;
      while (this.state === ChannelState.Open && (msg = this.decoder.next())) this.emit('message', msg);
    } catch (err) {
      this.close(err instanceof Error ? err : new BurrowError('BURROW_BAD_FRAME', String(err)));
    }
  }
}
