import { FrameType, HEADER_SIZE, checkVersionAndType } from './header.js';

/** Receives the frames a FrameReader finds, in wire order. */
export interface FrameSink {
  /** A whole header. For a Data frame with a payload, onPayload/onPayloadEnd follow. */
  onFrame(type: FrameType, flags: number, streamId: number, length: number): void;
  /** A piece of the current Data payload, as a view of the input (never copied); `more`: the payload goes on in a later chunk. */
  onPayload(piece: Buffer, more: boolean): void;
  /** The current Data payload is complete. */
  onPayloadEnd(): void;
}

/**
 * Incremental yamux frame parser: accepts whatever chunks the connection
 * delivers (1 byte or 1 MiB) and never waits for a whole payload. Payload
 * bytes are handed on as slices of the input as soon as they arrive, so a
 * large frame costs no copy and no reassembly buffer. Only a header split
 * across chunks is copied (into a fixed 12-byte scratch).
 *
 * Throws BurrowError(BURROW_MUX_PROTOCOL) on a bad version or type; the
 * caller owns the connection and decides what that means.
 */
export class FrameReader {
  /** Set by the owner to stop dispatching in the middle of a chunk (session gone). */
  stopped = false;
  private readonly scratch = Buffer.alloc(HEADER_SIZE);
  private scratchFill = 0;
  private payloadLeft = 0;

  constructor(private readonly sink: FrameSink) {}

  write(chunk: Buffer): void {
    const end = chunk.length;
    let off = 0;
    while (off < end && !this.stopped) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, end - off);
        this.payloadLeft -= n;
        this.sink.onPayload(off === 0 && n === end ? chunk : chunk.subarray(off, off + n), this.payloadLeft > 0);
        off += n;
        if (this.payloadLeft === 0 && !this.stopped) this.sink.onPayloadEnd();
        continue;
      }
      let head: Buffer;
      let at: number;
      if (this.scratchFill === 0 && end - off >= HEADER_SIZE) {
        head = chunk;
        at = off;
        off += HEADER_SIZE;
      } else {
        const n = Math.min(HEADER_SIZE - this.scratchFill, end - off);
        chunk.copy(this.scratch, this.scratchFill, off, off + n);
        this.scratchFill += n;
        off += n;
        if (this.scratchFill < HEADER_SIZE) return;
        this.scratchFill = 0;
        head = this.scratch;
        at = 0;
      }
      const type = head[at + 1];
      checkVersionAndType(head[at], type);
      const length = head.readUInt32BE(at + 8);
      if (type === FrameType.Data && length > 0) this.payloadLeft = length;
      this.sink.onFrame(type, head.readUInt16BE(at + 2), head.readUInt32BE(at + 4), length);
    }
  }
}
