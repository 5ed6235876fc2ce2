/**
 * Incremental reader of an HTTP/1.x message head (start line + header
 * fields + empty line), shared by the request and the response parsers.
 *
 * It never holds more than `maxHeadBytes`: a chunk is only copied up to the
 * remaining budget, and a head that has not ended when the budget is spent is
 * refused. The common case — a whole head in the first chunk — is parsed in
 * place without copying.
 */
import { BurrowError, type BurrowErrorCode } from '../util/errors.js';

export type HeaderList = Array<[name: string, value: string]>;

export interface ScannedHead {
  /** The start line, decoded byte-for-byte (latin1). */
  startLine: string;
  /** Field lines in arrival order, names in their original case, values trimmed. */
  headers: HeaderList;
  /** The head exactly as received, from the start line through the empty line (may share memory with a pushed chunk). */
  raw: Buffer;
}

export interface HeadLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

export interface HeadErrorCodes {
  tooLarge: BurrowErrorCode;
  malformed: BurrowErrorCode;
  /** "request" or "response", for messages. */
  what: string;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const INITIAL_CAPACITY = 1024;
/** Shared: a parser is made per message, and an empty remainder is the common case. */
const NO_BYTES = Buffer.alloc(0);
/** RFC 9112 §2.2 asks servers to skip at least one empty line before a request line. */
const MAX_LEADING_EMPTY_LINES = 4;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HTAB are never valid in a field value. */
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;

/** TOKEN as a byte table, for checking a header name without making a string of it. */
const TOKEN_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b++) TOKEN_BYTE[b] = TOKEN.test(String.fromCharCode(b)) ? 1 : 0;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

export function hasBadValueChar(s: string): boolean {
  return BAD_VALUE_CHAR.test(s);
}

export function checkLimit(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 1 << 24) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `${what} must be an integer between 1 and ${1 << 24}, got ${String(value)}`);
  }
  return value;
}

export class HeadScanner {
  private readonly limits: HeadLimits;
  private readonly codes: HeadErrorCodes;
  /** Our own copy of the bytes received so far; unused while parsing a chunk in place. */
  private storage: Buffer | undefined;
  private used = 0;
  /** Where the next line (or the start line) begins in the current data. */
  private lineStart = 0;
  /** Where to resume looking for LF. */
  private scanPos = 0;
  private headStart = 0;
  private leadingEmptyLines = 0;
  private sawStartLine = false;
  private fieldLines = 0;
  private startLine: string | undefined;
  private readonly headers: HeaderList = [];
  private result: ScannedHead | undefined;
  private remainder: Buffer = NO_BYTES;
  private failure: BurrowError | undefined;

  constructor(limits: HeadLimits, codes: HeadErrorCodes) {
    this.limits = limits;
    this.codes = codes;
  }

  /**
   * Feeds bytes; returns the head once its empty line has arrived. Bytes after
   * the head are kept for `takeRemainder()`. Pushing after completion only
   * appends to the remainder. Throws a BurrowError on a malformed or
   * oversized head, and keeps throwing it afterwards.
   */
  push(chunk: Buffer): ScannedHead | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.result !== undefined) {
      this.remainder = this.remainder.length === 0 ? chunk : Buffer.concat([this.remainder, chunk]);
      return undefined;
    }
    if (chunk.length === 0) return undefined;
    try {
      return this.used === 0 ? this.scanInPlace(chunk) : this.scanCopied(chunk);
    } catch (err) {
      if (err instanceof BurrowError) this.failure = err;
      this.storage = undefined;
      throw err;
    }
  }

  /** Bytes received after the head (the start of the body or the next message); empties the store. */
  takeRemainder(): Buffer {
    const rest = this.remainder;
    this.remainder = NO_BYTES;
    return rest;
  }

  private scanInPlace(chunk: Buffer): ScannedHead | undefined {
    const limit = Math.min(chunk.length, this.limits.maxHeadBytes);
    const end = this.scanLines(chunk, limit);
    if (end !== undefined) return this.finish(chunk, end, end === chunk.length ? NO_BYTES : chunk.subarray(end));
    if (chunk.length >= this.limits.maxHeadBytes) throw this.tooLarge();
    this.storage = Buffer.allocUnsafe(Math.min(this.limits.maxHeadBytes, Math.max(INITIAL_CAPACITY, chunk.length * 2)));
    chunk.copy(this.storage, 0);
    this.used = chunk.length;
    return undefined;
  }

  private scanCopied(chunk: Buffer): ScannedHead | undefined {
    const take = Math.min(chunk.length, this.limits.maxHeadBytes - this.used);
    this.reserve(this.used + take);
    const storage = this.storage as Buffer;
    chunk.copy(storage, this.used, 0, take);
    this.used += take;
    const end = this.scanLines(storage, this.used);
    if (end !== undefined) {
      const tail = storage.subarray(end, this.used);
      const rest = take < chunk.length ? Buffer.concat([tail, chunk.subarray(take)]) : tail;
      return this.finish(storage, end, rest);
    }
    if (this.used >= this.limits.maxHeadBytes) throw this.tooLarge();
    return undefined;
  }

  private reserve(size: number): void {
    const storage = this.storage as Buffer;
    if (storage.length >= size) return;
    let capacity = storage.length * 2;
    while (capacity < size) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.limits.maxHeadBytes));
    storage.copy(grown, 0, 0, this.used);
    this.storage = grown;
  }

  private finish(data: Buffer, end: number, rest: Buffer): ScannedHead {
    this.result = {
      startLine: this.startLine as string,
      headers: this.headers,
      raw: data.subarray(this.headStart, end),
    };
    this.remainder = rest;
    this.used = 0;
    this.storage = undefined;
    return this.result;
  }

  /**
   * Walks the line ends in data[scanPos, limit) looking for the empty line;
   * returns the index just past the head once it has ended. Lines are only
   * counted here (a bound on the header count while the head is still
   * arriving); the head is decoded and split once, when whole.
   */
  private scanLines(data: Buffer, limit: number): number | undefined {
    for (;;) {
      const lf = data.indexOf(LF, this.scanPos);
      if (lf < 0 || lf >= limit) {
        this.scanPos = limit;
        return undefined;
      }
      this.scanPos = lf + 1;
      const empty = lf === this.lineStart || (lf === this.lineStart + 1 && data[this.lineStart] === CR);
      if (empty && !this.sawStartLine) {
        // Empty lines before the start line are skipped, not part of the head.
        this.leadingEmptyLines += 1;
        if (this.leadingEmptyLines > MAX_LEADING_EMPTY_LINES) throw this.malformed('too many empty lines before the start line');
        this.headStart = lf + 1;
        this.lineStart = lf + 1;
        continue;
      }
      if (empty) {
        this.parseHead(data.toString('latin1', this.headStart, this.lineStart));
        return lf + 1;
      }
      this.checkLine(data, this.lineStart, lf > this.lineStart && data[lf - 1] === CR ? lf - 1 : lf);
      this.sawStartLine = true;
      this.lineStart = lf + 1;
    }
  }

  /**
   * Refuses a bad line as soon as it has arrived, with byte checks only (no
   * strings): a bare CR anywhere; then, for a field line, too many fields,
   * obs-fold, no colon, a bad name, a control character in the value.
   */
  private checkLine(data: Buffer, start: number, end: number): void {
    for (let i = start; i < end; i++) if (data[i] === CR) throw this.malformed('a bare CR inside a line');
    if (!this.sawStartLine) return;
    this.fieldLines += 1;
    if (this.fieldLines > this.limits.maxHeaders) {
      throw new BurrowError(this.codes.tooLarge, `${this.codes.what} has more than ${this.limits.maxHeaders} header fields`);
    }
    const first = data[start];
    if (first === SP || first === HTAB) throw this.malformed('a folded header line (obs-fold)');
    let colon = start;
    while (colon < end && data[colon] !== 0x3a) colon += 1;
    if (colon === end) throw this.malformed('a header line without a colon');
    let nameOk = colon > start;
    for (let i = start; nameOk && i < colon; i++) nameOk = TOKEN_BYTE[data[i]!] === 1;
    if (!nameOk) throw this.malformed(`an invalid header name ${JSON.stringify(data.toString('latin1', start, colon))}`);
    for (let i = colon + 1; i < end; i++) {
      const b = data[i]!;
      if ((b < 0x20 && b !== HTAB) || b === 0x7f)
        throw this.malformed(`a control character in header ${JSON.stringify(data.toString('latin1', start, colon))}`);
    }
  }

  /** Splits a whole head (start line and field lines, each ending in LF), already checked line by line, into the start line and fields. */
  private parseHead(text: string): void {
    let pos = 0;
    let first = true;
    while (pos < text.length) {
      const lf = text.indexOf('\n', pos);
      const end = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      const line = text.slice(pos, end);
      pos = lf + 1;
      if (first) {
        this.startLine = line;
        first = false;
        continue;
      }
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      let vs = colon + 1;
      let ve = line.length;
      while (vs < ve && (line.charCodeAt(vs) === SP || line.charCodeAt(vs) === HTAB)) vs += 1;
      while (ve > vs && (line.charCodeAt(ve - 1) === SP || line.charCodeAt(ve - 1) === HTAB)) ve -= 1;
      this.headers.push([name, line.slice(vs, ve)]);
    }
  }

  private tooLarge(): BurrowError {
    return new BurrowError(this.codes.tooLarge, `${this.codes.what} head is larger than ${this.limits.maxHeadBytes} bytes`);
  }

  private malformed(what: string): BurrowError {
    return new BurrowError(this.codes.malformed, `malformed ${this.codes.what} head: ${what}`);
  }
}
