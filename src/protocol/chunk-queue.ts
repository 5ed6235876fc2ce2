const EMPTY = Buffer.alloc(0);

/**
 * Received chunks not yet consumed. Bytes are copied only when a read spans
 * chunks; the array is compacted lazily so 1-byte chunking stays linear.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** index of the first live chunk */
  private first = 0;
  /** offset of the first unread byte in chunks[first] */
  private head = 0;
  length = 0;
  private readonly scratch: Buffer;

  /** `maxPeek`: the most bytes peek() is asked for at once (a header's length). */
  constructor(maxPeek: number) {
    this.scratch = Buffer.alloc(maxPeek);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  byteAt(i: number): number {
    return this.peek(i + 1)[i];
  }

  /** The next `n` (<= maxPeek, <= length) bytes without consuming them. */
  peek(n: number): Buffer {
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    let copied = 0;
    let offset = this.head;
    for (let i = this.first; copied < n; i++) {
      const chunk = this.chunks[i];
      copied += chunk.copy(this.scratch, copied, offset, Math.min(chunk.length, offset + n - copied));
      offset = 0;
    }
    return this.scratch;
  }

  /** Consumes and returns the next `n` (<= length) bytes; a view when they sit in one chunk. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[this.first];
      const count = Math.min(chunk.length - this.head, n - copied);
      chunk.copy(out, copied, this.head, this.head + count);
      copied += count;
      this.skip(count);
    }
    return out;
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const available = this.chunks[this.first].length - this.head;
      if (n < available) {
        this.head += n;
        return;
      }
      n -= available;
      this.first += 1;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  takeAll(): Buffer {
    const live = this.chunks.length - this.first;
    let rest: Buffer;
    if (live === 0) rest = EMPTY;
    else if (live === 1) rest = this.chunks[this.first].subarray(this.head);
    else {
      const parts = this.chunks.slice(this.first);
      parts[0] = parts[0].subarray(this.head);
      rest = Buffer.concat(parts, this.length);
    }
    this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.length = 0;
    return rest;
  }
}
