import { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import { COALESCE_LIMIT, ReceiveBuffer } from '../relay/receive-buffer.js';
import type { HoldReporter, HoldsWrites, ReadHold, ViewSource } from '../relay/reused-reads.js';
import type { ViewReceiver } from '../relay/view-tracker.js';
import { Flag, FrameType, INITIAL_STREAM_WINDOW } from './header.js';

/** What a stream needs from the session that carries it. */
export interface StreamHost {
  readonly maxStreamWindow: number;
  /** True while the connection holds more unsent bytes than it should. */
  isCongested(): boolean;
  /** Call `stream.pump()` once the connection has room again. */
  waitForDrain(stream: YamuxStream): void;
  sendData(streamId: number, payload: Buffer): void;
  sendControl(type: FrameType, flags: number, streamId: number, length: number): void;
  /** The stream holds coalesced small payloads; flush them when the current input chunk is done. */
  markDirty(stream: YamuxStream): void;
  /** The stream is finished on the wire; drop it from the session. */
  forget(stream: YamuxStream): void;
  /** True while the connection still references bytes given to it (or cannot tell). */
  connHoldsWrites(): boolean;
}

/**
 * Wire state of one stream. `localClosed`/`remoteClosed` are the two
 * half-closes (our FIN sent / the peer's FIN received); `closed` is both.
 */
type StreamState = 'open' | 'localClosed' | 'remoteClosed' | 'closed' | 'reset';

/** Upper bound of one Data frame, so one stream cannot hold the connection for long. */
const MAX_FRAME_PAYLOAD = 256 * 1024;
const READABLE_HIGH_WATER = 64 * 1024;
const WRITABLE_HIGH_WATER = 256 * 1024;

type WriteDone = (err?: Error | null) => void;

/**
 * One yamux stream as a Node Duplex. Back-pressure follows the credit
 * windows: a write completes only once the peer granted room for it and the
 * connection accepted it, and credit is returned to the peer as the consumer
 * reads, so a reader that stops holds the sender at about one window.
 * What it receives is buffered by a ReceiveBuffer (src/relay/), which
 * decides between views, copies and gathered frames; bytes held there count
 * as not yet consumed.
 */
export class YamuxStream extends Duplex implements HoldReporter, ViewSource, ViewReceiver {
  readonly id: number;
  private muxState: StreamState = 'open';
  private readonly rx: ReceiveBuffer;
  /** Bytes we may still send (the peer's grant). */
  private credit = INITIAL_STREAM_WINDOW;
  /** Bytes the peer may still send us before we grant more. */
  private recvWindow = INITIAL_STREAM_WINDOW;
  /** We have sent our SYN (outbound) or ACK (inbound) window update. */
  private announced = false;
  private ackTimer: NodeJS.Timeout | null = null;

  private txQueue: Buffer[] | null = null;
  private txIndex = 0;
  private txOffset = 0;
  private txDone: WriteDone | null = null;

  /** @internal Streams are created by YamuxSession (open() or an inbound SYN). */
  constructor(
    private readonly host: StreamHost,
    id: number,
  ) {
    super({
      allowHalfOpen: true,
      decodeStrings: true,
      readableHighWaterMark: READABLE_HIGH_WATER,
      writableHighWaterMark: WRITABLE_HIGH_WATER,
    });
    this.id = id;
    this.rx = new ReceiveBuffer(this);
  }

  /** Bytes this side may still send before the peer grants more. */
  get sendWindow(): number {
    return this.credit;
  }

  /** Bytes the peer may still send before this side grants more. */
  get receiveWindow(): number {
    return this.recvWindow;
  }

  /**
   * True while bytes written to this stream are still referenced: waiting
   * for credit here or queued on the connection. A relay reading into a
   * reused buffer asks this before reading into it again.
   */
  holdsWrites(): boolean {
    // A stream destroyed in the middle of a write never completes it (its writableLength stays up),
    // but it sends nothing more either: only what already reached the connection can still be held.
    return (!this.destroyed && (this.writableLength > 0 || this.txQueue !== null)) || this.host.connHoldsWrites();
  }

  /** The relay reading this stream says how to ask whether its destination kept a chunk. */
  setConsumerHolds(destHolds: HoldsWrites): void {
    this.rx.setConsumerHolds(destHolds);
  }

  /** @internal What became of the views receive() handed out (see ReceiveBuffer.receivedHold). */
  receivedHold(): ReadHold {
    return this.rx.receivedHold();
  }

  // ---- driven by the session -------------------------------------------

  /** @internal Sends the SYN or ACK window update that raises the window from 256 KiB to the maximum. */
  announce(flag: number): void {
    this.announced = true;
    const delta = Math.max(0, this.host.maxStreamWindow - this.readableLength - this.rx.pendingBytes - this.recvWindow);
    this.recvWindow += delta;
    this.host.sendControl(FrameType.WindowUpdate, flag, this.id, delta);
  }

  /** @internal */
  armAckTimer(ms: number, onTimeout: () => void): void {
    this.ackTimer = setTimeout(onTimeout, ms);
    this.ackTimer.unref();
  }

  /** @internal The peer acknowledged our SYN. */
  onAck(): void {
    this.clearAckTimer();
  }

  private clearAckTimer(): void {
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
  }

  /** @internal Whether payload for this stream should be delivered (else it is dropped). */
  get acceptsData(): boolean {
    return (this.muxState === 'open' || this.muxState === 'localClosed') && !this.destroyed;
  }

  /**
   * @internal A piece of payload, a view of the connection's chunk. Returns
   * true when the view itself was handed on (else it was copied, held or
   * dropped). `gather`: the frame goes on in a later read (ReceiveBuffer).
   */
  receive(piece: Buffer, gather = false): boolean {
    // Charged piece by piece, not per header: bytes still on the wire must
    // not look consumed to maybeGrant().
    this.recvWindow -= piece.length;
    if (!this.acceptsData) return false;
    const received = this.rx.receive(piece, gather);
    if (received === 'coalescing') this.host.markDirty(this);
    else if (received !== 'held') this.maybeGrant();
    return received === 'view';
  }

  /** @internal Bytes of a frame gathered so far and not yet handed on. */
  get gatheredBytesPending(): number {
    return this.rx.gatheredBytesPending;
  }

  /** @internal The connection went quiet in the middle of a frame: hand on what has come. */
  flushPartialFrame(): void {
    if (this.rx.flushPartialFrame()) this.maybeGrant();
  }

  /** @internal End of one input chunk: hand coalesced pieces to the reader. */
  flushReceived(): void {
    if (this.rx.flushReceived()) this.maybeGrant();
  }

  /** @internal The peer granted `delta` more bytes. */
  addCredit(delta: number): void {
    this.credit += delta;
    if (this.txQueue !== null) this.pump();
  }

  /** @internal The peer half-closed: no more data will come. */
  onRemoteFin(): void {
    if (this.muxState === 'open') {
      this.muxState = 'remoteClosed';
    } else if (this.muxState === 'localClosed') {
      this.muxState = 'closed';
      this.host.forget(this);
    } else {
      return;
    }
    this.rx.flushAll();
    this.push(null);
  }

  /** @internal The peer reset the stream. */
  onRemoteReset(): void {
    if (this.muxState === 'closed' || this.muxState === 'reset') return;
    this.muxState = 'reset';
    this.host.forget(this);
    this.failWith(new BurrowError('BURROW_MUX_STREAM_RESET', `yamux: stream ${this.id} was reset by the peer`));
  }

  /** @internal The session is gone: no RST, just tear down. */
  terminate(err: Error | undefined): void {
    if (this.muxState !== 'closed') this.muxState = 'reset';
    this.failWith(err);
  }

  /**
   * @internal Sends as much of the pending write as credit and the
   * connection allow; completes the write once all of it is out.
   */
  pump(): void {
    const queue = this.txQueue;
    if (queue === null || this.destroyed) return;
    while (this.txIndex < queue.length) {
      const buf = queue[this.txIndex];
      const left = buf.length - this.txOffset;
      if (left === 0) {
        this.txIndex++;
        this.txOffset = 0;
        continue;
      }
      if (this.credit === 0) return;
      if (this.host.isCongested()) {
        this.host.waitForDrain(this);
        return;
      }
      const n = Math.min(left, this.credit, MAX_FRAME_PAYLOAD);
      this.host.sendData(this.id, n === buf.length ? buf : buf.subarray(this.txOffset, this.txOffset + n));
      this.credit -= n;
      this.txOffset += n;
    }
    const done = this.txDone;
    this.txQueue = null;
    this.txDone = null;
    this.txIndex = 0;
    this.txOffset = 0;
    done?.();
  }

  // ---- Duplex implementation -------------------------------------------

  /**
   * Every consumer path (flowing 'data', pipe, async iteration, read())
   * goes through read(); credit is returned here, once bytes have actually
   * left the buffer. _read alone cannot do it: it runs before the chunk is
   * removed and is not called again until the next push.
   */
  override read(size?: number): ReturnType<Duplex['read']> {
    const before = this.readableLength;
    const chunk: ReturnType<Duplex['read']> = super.read(size);
    if (this.readableLength < before) this.maybeGrant();
    return chunk;
  }

  override _read(): void {
    // Data is pushed as it arrives; credit (see read()) is the only throttle.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: WriteDone): void {
    this.txQueue = [chunk];
    this.txDone = done;
    this.pump();
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, done: WriteDone): void {
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    // Many small buffered writes become one frame; big ones go out as they are.
    this.txQueue =
      total <= COALESCE_LIMIT
        ? [
            Buffer.concat(
              chunks.map((c) => c.chunk),
              total,
            ),
          ]
        : chunks.map((c) => c.chunk);
    this.txDone = done;
    this.pump();
  }

  override _final(done: WriteDone): void {
    if (this.muxState === 'open') {
      this.muxState = 'localClosed';
    } else if (this.muxState === 'remoteClosed') {
      this.muxState = 'closed';
    } else {
      done();
      return;
    }
    this.host.sendControl(FrameType.WindowUpdate, Flag.FIN, this.id, 0);
    if (this.muxState === 'closed') this.host.forget(this);
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (this.muxState !== 'closed' && this.muxState !== 'reset') {
      this.muxState = 'reset';
      this.host.sendControl(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    }
    this.clearAckTimer();
    this.host.forget(this);
    this.txQueue = null;
    this.txDone = null;
    this.rx.discard();
    done(err);
  }

  // ---- private ---------------------------------------------------------

  /**
   * Failures caused by the peer or the connection must not crash the
   * process: a stream nobody listens to for 'error' (say, one still in the
   * accept backlog) is closed without an error instead.
   */
  private failWith(err: Error | undefined): void {
    this.destroy(err !== undefined && this.listenerCount('error') > 0 ? err : undefined);
  }

  /**
   * Returns credit the way the Go implementation does: once the consumer
   * has freed at least half of the maximum window. Before our SYN/ACK went
   * out (an inbound stream still in the accept backlog) nothing is granted.
   */
  private maybeGrant(): void {
    if (!this.announced || !this.acceptsData) return;
    const max = this.host.maxStreamWindow;
    const delta = max - this.readableLength - this.rx.pendingBytes - this.recvWindow;
    if (delta < max / 2) return;
    this.recvWindow += delta;
    this.host.sendControl(FrameType.WindowUpdate, 0, this.id, delta);
  }
}
