import type { Readable, Writable } from 'node:stream';
import { BurrowError } from './errors.js';

/**
 * Pull-style reads over a Node stream in paused mode, for exchanges that
 * parse as they go (HTTP heads, bodies): `read()` gives the next chunk or null
 * at the end, `unshift()` returns bytes that belong to the next reader.
 */
export class StreamReader {
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  private readonly onReadable = (): void => this.wake?.();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };
  private readonly onError = (err: Error): void => {
    this.error = err;
    this.wake?.();
  };

  constructor(private readonly stream: Readable) {
    stream.pause();
    stream.on('readable', this.onReadable);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /**
   * Stops reading through this reader so the stream can be piped: while a
   * 'readable' listener is attached, Node never switches it to flowing mode.
   */
  detach(): void {
    this.stream.off('readable', this.onReadable);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
  }

  /** The next chunk, or null once the stream has ended. `timeoutMs` bounds the wait. */
  async read(timeoutMs: number, what: string): Promise<Buffer | null> {
    for (;;) {
      if (this.error) throw this.error;
      const chunk = this.stream.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (this.ended || this.stream.destroyed) return null;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          reject(new BurrowError('BURROW_TIMEOUT', `${what}: nothing arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  unshift(chunk: Buffer): void {
    if (chunk.length > 0) this.stream.unshift(chunk);
  }
}

/** Writes and waits for 'drain' when the writer's buffer is full (back-pressure without a pipe). */
export function writeAll(to: Writable, chunk: Buffer): Promise<void> {
  if (to.destroyed || to.writableEnded) return Promise.reject(new BurrowError('BURROW_CLOSED', 'peer closed'));
  if (to.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      to.off('drain', onDrain);
      to.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new BurrowError('BURROW_CLOSED', 'peer closed'));
    to.on('drain', onDrain);
    to.on('close', onClose);
  });
}
