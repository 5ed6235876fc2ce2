import { Duplex } from 'node:stream';

/**
 * One end of an in-memory connection. What one end writes the other reads,
 * with back-pressure: a write's callback waits until the peer's reader asks
 * for more. Ending one end is a half-close (the peer reads EOF); destroying
 * one end destroys the other, as a reset would.
 */
class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  /** the callback of a write the peer has not asked to read yet */
  private waiting: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    const peer = this.peer;
    const resume = peer?.waiting;
    if (peer && resume) {
      peer.waiting = undefined;
      resume();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback(new Error('the other end of the in-process connection is closed'));
      return;
    }
    if (peer.push(chunk)) callback();
    else this.waiting = () => callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // A write still waiting for the peer is dropped with this end, as on a reset socket.
    this.waiting = undefined;
    if (peer && !peer.destroyed) peer.destroy();
    callback(err);
  }
}

/** Two connected in-memory Duplex ends (Node 20 has no stream.duplexPair). */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
