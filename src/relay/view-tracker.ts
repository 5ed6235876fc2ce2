import type { ReadHold } from './reused-reads.js';

/**
 * Reads no larger than a TLS record (16 KiB) end most frames midway: pieces
 * of frames that go on past such a read are gathered by their stream and
 * handed on whole. Larger reads (plain TCP) pass their pieces on as views.
 */
const GATHER_CHUNK = 16 * 1024;
/**
 * How long a partly gathered frame may wait for its rest. On loopback or a
 * fast link the rest follows within microseconds; waiting for the next turn
 * of the event loop instead flushed many frames in halves and lost much of
 * the gain. On a slow link this is what a frame's first bytes wait at most.
 */
const PARTIAL_FRAME_WAIT_MS = 1;

/** What the tracker asks of a stream that receives views of the connection's input (a yamux stream). */
export interface ViewReceiver {
  /** Takes a piece of payload; true when the view itself was handed on. */
  receive(piece: Buffer, gather: boolean): boolean;
  /** What became of the views it handed on (ReceiveBuffer.receivedHold). */
  receivedHold(): ReadHold;
  /** End of one input chunk: hand coalesced pieces on. */
  flushReceived(): void;
  /** The rest of the frame is late: hand on what has come. */
  flushPartialFrame(): void;
  readonly gatheredBytesPending: number;
}

/**
 * The connection side of views: which streams were handed views of the
 * input chunk being read, which still queue views of earlier ones, and
 * which hold small pieces to flush at the end of the chunk. The reused
 * reader of the connection asks hold() after each chunk whether the buffer
 * may be read into again.
 *
 * Per input chunk: beginChunk(), then deliver() for each payload piece the
 * frame reader finds, then endChunk().
 */
export class ViewTracker {
  /** Receiver of the Data payload being read, or null to drop it. */
  receiver: ViewReceiver | null = null;
  /** Streams handed a view of the current input chunk. */
  private holders: ViewReceiver[] = [];
  /** Streams whose consumers still queue views of earlier chunks. */
  private readonly queued = new Set<ViewReceiver>();
  /** Streams holding coalesced small pieces until the end of the chunk. */
  private dirty: ViewReceiver[] = [];
  /** The chunk being read is record-sized, so frames that go on past it are gathered. */
  private smallReads = false;
  private partialFlush: NodeJS.Timeout | null = null;

  /** A new input chunk of `length` bytes is about to be parsed. */
  beginChunk(length: number): void {
    this.holders.length = 0;
    this.smallReads = length <= GATHER_CHUNK;
    // Also while the connection reads into the shared buffer (nobody asks then), so
    // finished streams are not kept here.
    if (this.queued.size > 0) this.pruneQueued();
  }

  /** A piece of the current frame's payload; `more`: the frame goes on past this chunk. */
  deliver(piece: Buffer, more: boolean): void {
    const stream = this.receiver;
    if (stream?.receive(piece, more && this.smallReads)) this.holders.push(stream);
  }

  /** `stream` holds coalesced pieces: flush them when the current input chunk is done. */
  markDirty(stream: ViewReceiver): void {
    this.dirty.push(stream);
  }

  /** The chunk is parsed: coalesced pieces go on, and a frame cut short gets a deadline for its rest. */
  endChunk(): void {
    if (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = [];
      for (const s of list) s.flushReceived();
    }
    if (this.partialFlush === null && (this.receiver?.gatheredBytesPending ?? 0) > 0) {
      // The rest of the frame may be far behind (a slow link): what has come
      // goes on if the frame is still incomplete a moment later.
      this.partialFlush = setTimeout(this.flushPartialFrame, PARTIAL_FRAME_WAIT_MS);
    }
  }

  /** Asked after each input chunk: may the buffer it was read into be read into again? */
  hold(): ReadHold {
    let kept = false;
    for (const s of this.holders) {
      const hold = s.receivedHold();
      if (hold === 'kept') kept = true;
      else if (hold === 'queued') this.queued.add(s);
    }
    this.pruneQueued();
    if (kept) return 'kept';
    return this.queued.size > 0 ? 'queued' : 'free';
  }

  /** The session is gone: forget every stream and stop the timer. */
  clear(): void {
    if (this.partialFlush !== null) clearTimeout(this.partialFlush);
    this.partialFlush = null;
    this.dirty = [];
    this.holders = [];
    this.queued.clear();
    this.receiver = null;
  }

  private pruneQueued(): void {
    for (const s of this.queued) if (s.receivedHold() === 'free') this.queued.delete(s);
  }

  private readonly flushPartialFrame = (): void => {
    this.partialFlush = null;
    this.receiver?.flushPartialFrame();
  };
}
