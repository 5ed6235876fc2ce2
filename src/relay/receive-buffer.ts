import type { HoldsWrites, ReadHold } from './reused-reads.js';

/**
 * Payload pieces below this size are copied and coalesced instead of pushed
 * as views: a view pins the whole socket chunk it came from, and thousands of
 * tiny buffered pieces would cost far more memory than the window suggests.
 */
const SMALL_PIECE = 16 * 1024;
/**
 * A piece at least this big goes on as a view, uncopied, when the consumer
 * takes it at once (flowing, nothing buffered) and the view pins at most four
 * times its size. Over TLS, reads end at every 16 KiB record, so frames arrive
 * in such pieces; copying them all would cost what Node's own reads cost.
 */
const DIRECT_PIECE = 4 * 1024;
/** Most bytes joined into one chunk, received (coalesced, gathered) or sent (one frame from many writes). */
export const COALESCE_LIMIT = 64 * 1024;
/**
 * Pieces of a frame the session asks to gather (reads the size of a TLS
 * record end most frames midway) are copied into one buffer, up to
 * COALESCE_LIMIT, and handed on when the frame is complete: the destination
 * then writes 64 KiB at once instead of four times 16 KiB, which costs more
 * in system calls and in waking its reader than the copy does (see README.md).
 */
const GATHER_PIECE = 16 * 1024;
/** Room for a gathered frame: the limit plus the piece that reached it. */
const GATHER_BUFFER = COALESCE_LIMIT + GATHER_PIECE;
/** Gathered frames are usually written out at once, so a few buffers serve the whole process. */
const GATHER_POOL_LIMIT = 8;
/** Free gather buffers, shared by all streams of the process. */
const gatherPool: Buffer[] = [];

function takeGatherBuffer(): Buffer {
  return gatherPool.pop() ?? Buffer.allocUnsafeSlow(GATHER_BUFFER);
}

/** The one way back into the pool: only for a buffer nobody refers to any more. */
function recycleGatherBuffer(buf: Buffer): void {
  if (gatherPool.length < GATHER_POOL_LIMIT) gatherPool.push(buf);
}

/** The readable side the buffer hands chunks to (a yamux stream is one). */
export interface ReceiveSink {
  readonly readableFlowing: boolean | null;
  readonly readableLength: number;
  readonly destroyed: boolean;
  push(chunk: Buffer | null): boolean;
}

/**
 * What receive() did with a piece:
 * - held: kept here (gathered, or the frame goes on), nothing for the reader yet;
 * - pushed: bytes reached the reader as a copy;
 * - view: the piece itself reached the reader (it pins the connection's read buffer);
 * - coalescing: the first small piece since the last flush; flushReceived() is due at the end of the input chunk.
 */
export type Received = 'held' | 'pushed' | 'view' | 'coalescing';

/**
 * The receive side of one stream: decides per piece of payload (a view of
 * the connection's read) whether it goes on as that view, is copied and
 * coalesced with other small pieces, or is gathered with the rest of its
 * frame into a pooled buffer. Credit and wire state stay with the stream;
 * bytes held here count as not yet consumed (pendingBytes).
 */
export class ReceiveBuffer {
  /** The frame being received, copied piece by piece as it arrives (see GATHER_PIECE). */
  private gathered: Buffer | null = null;
  private gatheredBytes = 0;
  private small: Buffer[] = [];
  private smallBytes = 0;
  /** Small pieces wait for flushReceived() at the end of the input chunk. */
  private dirty = false;
  /** Asks whether the consumer kept the chunks it was given; null: unknown, assume it did. */
  private consumerHolds: HoldsWrites | null = null;

  constructor(private readonly sink: ReceiveSink) {}

  /** Bytes received and not yet handed to the reader. */
  get pendingBytes(): number {
    return this.smallBytes + this.gatheredBytes;
  }

  /** Bytes of a frame gathered so far and not yet handed on. */
  get gatheredBytesPending(): number {
    return this.gatheredBytes;
  }

  /** The relay reading the stream says how to ask whether its destination kept a chunk. */
  setConsumerHolds(destHolds: HoldsWrites): void {
    this.consumerHolds = destHolds;
  }

  /**
   * What became of the views receive() handed out: buffered in the stream
   * or given to a consumer that cannot say (kept), or waiting in the
   * consumer's write queue (queued).
   */
  receivedHold(): ReadHold {
    const sink = this.sink;
    // A destroyed stream's buffer is never read again; what its consumer already took still counts.
    if (sink.destroyed) return this.consumerHolds === null ? 'kept' : this.consumerHolds() ? 'queued' : 'free';
    if (sink.readableLength > 0 || this.consumerHolds === null) return 'kept';
    return this.consumerHolds() ? 'queued' : 'free';
  }

  /**
   * A piece of payload, a view of the connection's chunk. `gather`: the
   * frame goes on in a later read, and pieces are to be gathered until it
   * ends (GATHER_PIECE).
   */
  receive(piece: Buffer, gather: boolean): Received {
    if (piece.length <= GATHER_PIECE && (gather || this.gathered !== null)) {
      this.gatherPiece(piece);
      // Flushed when the frame is complete, or when another piece might not fit.
      if (!gather || this.gatheredBytes + GATHER_PIECE > GATHER_BUFFER) {
        this.flushGathered();
        return 'pushed';
      }
      return 'held';
    }
    this.flushGathered();
    const sink = this.sink;
    // A view pins the whole buffer it was read into; at most four times its own size.
    const direct =
      piece.length >= SMALL_PIECE ||
      (piece.length >= DIRECT_PIECE &&
        piece.buffer.byteLength <= 4 * piece.length &&
        this.smallBytes === 0 &&
        sink.readableFlowing === true &&
        sink.readableLength === 0);
    if (!direct) {
      this.small.push(piece);
      this.smallBytes += piece.length;
      if (this.smallBytes >= COALESCE_LIMIT) {
        this.flushSmall();
      } else if (!this.dirty) {
        this.dirty = true;
        return 'coalescing';
      }
      return 'held';
    }
    this.flushSmall();
    sink.push(piece);
    return 'view';
  }

  /** The connection went quiet in the middle of a frame: hand on what has come. True if anything went. */
  flushPartialFrame(): boolean {
    if (this.gatheredBytes === 0 || this.sink.destroyed) return false;
    this.flushGathered();
    return true;
  }

  /** End of one input chunk: hand coalesced pieces to the reader. True if anything went. */
  flushReceived(): boolean {
    this.dirty = false;
    if (this.smallBytes === 0) return false;
    this.flushSmall();
    return true;
  }

  /** No more payload will come (the peer's FIN): everything held goes to the reader, in order. */
  flushAll(): void {
    this.flushGathered();
    this.flushSmall();
  }

  /** The stream is destroyed: what is held is dropped. */
  discard(): void {
    this.small = [];
    this.smallBytes = 0;
    // Nothing was handed on from it, so it can serve another stream.
    if (this.gathered !== null) recycleGatherBuffer(this.gathered);
    this.gathered = null;
    this.gatheredBytes = 0;
  }

  /**
   * Copies a piece of the frame being gathered: pieces are views of the
   * connection's read buffer, which is read into again before the frame ends.
   */
  private gatherPiece(piece: Buffer): void {
    if (this.gathered === null) {
      // What came before this frame goes first.
      this.flushSmall();
      this.gathered = takeGatherBuffer();
    }
    this.gatheredBytes += piece.copy(this.gathered, this.gatheredBytes);
  }

  /**
   * Hands on a gathered frame. When the relay reading this stream wrote it
   * out at once (the usual case on a local socket), its buffer goes back to
   * the pool for the next frame: a fresh buffer per frame would be the
   * garbage that reused reads exist to avoid. A buffer still queued, or read
   * by a consumer that cannot say, is left to the consumer.
   */
  private flushGathered(): void {
    const buf = this.gathered;
    if (buf === null) return;
    const n = this.gatheredBytes;
    const sink = this.sink;
    this.gathered = null;
    this.gatheredBytes = 0;
    // A short frame, or a reader that will not take it at once (paused, or
    // behind): copied out, so that a paused stream holds what it received and
    // not buffers several times its size.
    if (n < GATHER_BUFFER / 4 || sink.readableFlowing !== true || sink.readableLength > 0) {
      sink.push(Buffer.from(buf.subarray(0, n)));
      recycleGatherBuffer(buf);
      return;
    }
    sink.push(buf.subarray(0, n));
    const free = this.consumerHolds !== null && sink.readableLength === 0 && !this.consumerHolds();
    if (free) recycleGatherBuffer(buf);
  }

  private flushSmall(): void {
    if (this.smallBytes === 0) return;
    const pieces = this.small;
    const data = pieces.length === 1 ? Buffer.from(pieces[0]) : Buffer.concat(pieces, this.smallBytes);
    this.small = [];
    this.smallBytes = 0;
    this.sink.push(data);
  }
}
