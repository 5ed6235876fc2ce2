import type { Duplex, Readable } from 'node:stream';
import type { Message, MessageBodies, MessageType } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';
import { codecOf } from './wire-mark.js';

/**
 * Reads exactly one message (in the stream's framing, see wire-mark.ts) in
 * paused mode and puts every byte after it back (unshift), so the stream can
 * be handed on to a relay or a cipher with nothing lost. The caller bounds the
 * wait with `timeoutMs`.
 */
export function readOneMessage(stream: Readable, timeoutMs: number, what = 'first message'): Promise<Message> {
  return readOne(stream, codecOf(stream).reader(), timeoutMs, what);
}

/** Anything read item by item from bytes: a message reader, a frame reader. */
export interface ItemReader<T> {
  push(chunk: Buffer): void;
  next(): T | undefined;
  takeRemainder(): Buffer;
}

/** readOneMessage over any reader: the first item, the bytes after it put back. */
export function readOne<T>(stream: Readable, decoder: ItemReader<T>, timeoutMs: number, what: string): Promise<T> {
  let cleanup = (): void => {};
  const work = new Promise<T>((resolve, reject) => {
    const tryRead = (): void => {
      try {
        let chunk: Buffer | null;
        while ((chunk = stream.read() as Buffer | null) !== null) {
          decoder.push(chunk);
          const msg = decoder.next();
          if (msg) {
            const rest = decoder.takeRemainder();
            cleanup();
            if (rest.length > 0) stream.unshift(rest);
            resolve(msg);
            return;
          }
        }
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new BurrowError('BURROW_CLOSED', `connection closed before the ${what} arrived`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    cleanup = () => {
      stream.off('readable', tryRead);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    stream.on('readable', tryRead);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    // A stream closed before this read began emits no more events: without this the wait would last its whole timeout.
    if (stream.destroyed || stream.readableEnded) return onEnd();
    tryRead();
  });
  return withTimeout(work, timeoutMs, what).finally(() => cleanup());
}

/** Reads one message and insists on its type, with a readable error otherwise. */
export async function expectMessage<K extends MessageType>(stream: Readable, type: K, timeoutMs: number): Promise<MessageBodies[K]> {
  const msg = await readOneMessage(stream, timeoutMs, type);
  if (msg.type !== type) {
    throw new BurrowError('BURROW_BAD_FRAME', `expected ${type} but received ${msg.type}`);
  }
  return msg.body as MessageBodies[K];
}

/** Writes one message as a single frame in the stream's framing; resolves when it is handed to the stream. */
export function writeMessage(stream: Duplex, msg: Message): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new BurrowError('BURROW_CLOSED', `cannot send ${msg.type}: connection closed`));
      return;
    }
    stream.write(codecOf(stream).encode(msg), (err) => (err ? reject(err) : resolve()));
  });
}
