import type { Duplex } from 'node:stream';
import { type ItemReader, readOne } from '../control/message-io.js';
import { markWire } from '../control/wire-mark.js';
import { MessageDecoder } from '../protocol/codec.js';
import type { Message } from '../protocol/messages.js';
import type { WireProtocol } from '../protocol/wire-codec.js';
import { V2FrameDecoder, V2FrameType, V2_MAGIC, decodeV2Message, encodeV2Frame } from '../protocol/wire-v2.js';
import { type V2CryptoContext, answerClientHello, helloTranscript } from '../protocol/wire-v2-hello.js';
import { BurrowError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';

/** The first message of a logical connection and the framing it came in. */
export interface FirstMessage {
  readonly msg: Message;
  readonly wire: WireProtocol;
  /** v2 only, when the connection opened with a hello (a control connection) */
  readonly crypto?: V2CryptoContext;
}

/**
 * Reads the first message of a logical connection, whichever framing: a v2
 * frpc opens every connection with the 7-byte magic, a v1 one with a v1
 * frame (whose type byte is never the magic's "F"). On a v2 connection an
 * opening ClientHello is answered with a ServerHello before the message is
 * read, as frps does; a hello it cannot accept is answered with the reason
 * and the connection refused. The stream is marked with its framing
 * (wire-mark.ts) so every later message on it follows. One deadline covers
 * the whole exchange.
 */
export function readFirstMessage(stream: Duplex, timeoutMs: number): Promise<FirstMessage> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const exchange = async (): Promise<FirstMessage> => {
    const wire = await readOne(stream, new MagicSniffer(), left(), 'first message');
    if (wire === 'v1') return { msg: await readOne(stream, new MessageDecoder(), left(), 'first message'), wire };
    markWire(stream, 'v2');
    let frame = await readOne(stream, new V2FrameDecoder(), left(), 'first v2 frame');
    let crypto: V2CryptoContext | undefined;
    if (frame.type === V2FrameType.ClientHello) {
      const answer = answerClientHello(frame.payload);
      await write(stream, encodeV2Frame(V2FrameType.ServerHello, answer.payload));
      if (!answer.ok) {
        // The refusal must reach the client before the reset that follows (Go's yamux drops unread
        // data on a reset): end our side and give the client a moment to read it and close.
        await endAndLinger(stream, HELLO_REFUSAL_LINGER_MS);
        throw new BurrowError('BURROW_BAD_FRAME', `v2 hello refused: ${answer.error}`);
      }
      crypto = { algorithm: answer.algorithm, transcript: helloTranscript(frame.payload, answer.payload) };
      frame = await readOne(stream, new V2FrameDecoder(), left(), 'first v2 message');
    }
    return { msg: decodeV2Message(frame), wire, crypto };
  };
  return withTimeout(exchange(), timeoutMs, 'first message');
}

/** How long a refused hello waits for the client to read the reason and close. */
const HELLO_REFUSAL_LINGER_MS = 1000;

function endAndLinger(stream: Duplex, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      stream.off('end', done);
      stream.off('close', done);
      resolve();
    }
    stream.once('end', done);
    stream.once('close', done);
    stream.on('data', () => {});
    stream.resume();
    stream.end();
  });
}

function write(stream: Duplex, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/**
 * Decides v1 or v2 from the first bytes without consuming a v1 frame: 'v1'
 * as soon as a byte differs from the magic (all bytes go back), 'v2' once
 * the seven are in (what follows them goes back).
 */
class MagicSniffer implements ItemReader<WireProtocol> {
  private seen: Buffer = Buffer.alloc(0);
  private decided: WireProtocol | undefined;

  push(chunk: Buffer): void {
    this.seen = this.seen.length === 0 ? chunk : Buffer.concat([this.seen, chunk]);
  }

  next(): WireProtocol | undefined {
    const n = Math.min(this.seen.length, V2_MAGIC.length);
    if (!this.seen.subarray(0, n).equals(V2_MAGIC.subarray(0, n))) this.decided = 'v1';
    else if (n === V2_MAGIC.length) this.decided = 'v2';
    return this.decided;
  }

  takeRemainder(): Buffer {
    const rest = this.decided === 'v2' ? this.seen.subarray(V2_MAGIC.length) : this.seen;
    this.seen = Buffer.alloc(0);
    return rest;
  }
}
