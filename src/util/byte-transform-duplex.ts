import { Duplex } from 'node:stream';
import { BurrowError } from './errors.js';

/**
 * A pair of byte-stream transforms, one per direction. Both are called
 * synchronously per chunk and may return an empty Buffer when they need more
 * input; neither is ever asked to flush (the transforms we use are
 * unbuffered on the writing side).
 */
export interface ByteTransform {
  /** bytes we write -> bytes for the inner stream */
  encode(chunk: Buffer): Buffer;
  /** bytes read from the inner stream -> bytes we emit */
  decode(chunk: Buffer): Buffer;
}

/**
 * Wraps `inner` so that writes pass through `transform.encode` and reads
 * through `transform.decode`. Back-pressure holds in both directions, end()
 * half-closes the inner stream, the inner 'end' ends our readable side, and
 * errors or destroy() on either side tear down both.
 *
 * Bytes that were already read from `inner` past some handshake must be put
 * back with `inner.unshift()` before wrapping, so that they are decoded too.
 */
export function wrapDuplex(inner: Duplex, transform: ByteTransform): Duplex {
  return new TransformedDuplex(inner, transform);
}

class TransformedDuplex extends Duplex {
  /** the callback of a write waiting for the inner stream to drain */
  private pendingWrite: ((err?: Error | null) => void) | undefined;
  private innerEnded = false;

  constructor(
    private readonly inner: Duplex,
    private readonly transform: ByteTransform,
  ) {
    super({ allowHalfOpen: true });
    // Stay paused until our consumer asks for data (_read).
    inner.pause();
    inner.on('data', (chunk: Buffer) => this.onInnerData(chunk));
    inner.on('drain', () => this.onInnerDrain());
    inner.once('end', () => {
      this.innerEnded = true;
      this.push(null);
    });
    inner.on('error', (err: Error) => this.destroy(err));
    inner.once('close', () => this.onInnerClose());
    if (inner.readableEnded) {
      this.innerEnded = true;
      this.push(null);
    }
  }

  override _read(): void {
    if (!this.inner.destroyed) this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    let encoded: Buffer;
    try {
      encoded = this.transform.encode(chunk);
    } catch (err) {
      callback(asError(err));
      return;
    }
    if (encoded.length === 0 || this.inner.write(encoded)) {
      callback();
      return;
    }
    this.pendingWrite = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.inner.writableFinished) {
      callback();
      return;
    }
    // Wait for the inner stream to flush, so our 'finish' means the bytes left.
    this.inner.end((err?: Error | null) => callback(err ?? null));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Release a write stuck waiting for 'drain' so its caller does not wait forever. A graceful
    // destroy must not turn into an errored stream, so it gets no error; Node errors the
    // writes still queued behind it.
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.(err);
    if (!this.inner.destroyed) this.inner.destroy(err ?? undefined);
    callback(err);
  }

  private onInnerData(chunk: Buffer): void {
    let decoded: Buffer;
    try {
      decoded = this.transform.decode(chunk);
    } catch (err) {
      this.destroy(asError(err));
      return;
    }
    if (decoded.length > 0 && !this.push(decoded)) this.inner.pause();
  }

  private onInnerDrain(): void {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.();
  }

  private onInnerClose(): void {
    if (this.destroyed) return;
    // Keep whatever our consumer has not read yet: close once it has.
    if (this.innerEnded && !this.readableEnded) {
      this.once('end', () => this.destroy());
      return;
    }
    this.destroy();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new BurrowError('BURROW_BAD_FRAME', String(err));
}
