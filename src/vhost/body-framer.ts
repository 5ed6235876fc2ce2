/**
 * Where does this message's body end? The relay passes body bytes through
 * untouched; the framer only counts them (Content-Length) or follows the
 * chunked coding's size lines, CRLFs and trailer section, across any split
 * of the byte stream, so the bytes after the body can be read as the next
 * message. It never copies or buffers body bytes.
 */
import { BurrowError, type BurrowErrorCode } from '../util/errors.js';
import { getHeaderValues, headerTokens } from './headers.js';
import type { RequestHead } from './request-head.js';
import type { ResponseHead } from './response-head.js';
import type { HeaderList } from './head-scanner.js';

export type BodyKind =
  | { type: 'length'; length: bigint | number }
  | { type: 'chunked' }
  | { type: 'none' }
  /** The body is everything until the sender closes (responses only). */
  | { type: 'until-close' };

export interface BodyFramerOptions {
  /** Picks the error code: a bad request body is a 400, a bad response body a failed backend (404, as frps). */
  side?: 'request' | 'response';
  /** Bound on one chunk-size line, extensions included (default 4096). */
  maxChunkLineBytes?: number;
  /** Bound on the trailer section (default 16384). */
  maxTrailerBytes?: number;
  /**
   * Told where the body's content bytes are (chunk framing left out):
   * `chunk[start..end)`. For the inspector, which keeps a copy; the relay
   * leaves it unset.
   */
  onContent?: (chunk: Buffer, start: number, end: number) => void;
}

const DEFAULT_MAX_CHUNK_LINE_BYTES = 4096;
const DEFAULT_MAX_TRAILER_BYTES = 16_384;
/** 13 hex digits stay below 2^52, inside exact double arithmetic. */
const MAX_CHUNK_SIZE_DIGITS = 13;

enum State {
  SizeStart,
  Size,
  SizeWhitespace,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLineStart,
  TrailerLine,
  TrailerLineLf,
  TrailerEndLf,
  Done,
  UntilClose,
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

export class BodyFramer {
  readonly kind: BodyKind;
  private readonly errorCode: BurrowErrorCode;
  private readonly maxChunkLineBytes: number;
  private readonly maxTrailerBytes: number;
  private state: State;
  /** Body bytes still expected (length), or left in the current chunk (chunked). */
  private remaining = 0;
  private sizeDigits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private readonly onContent: BodyFramerOptions['onContent'];

  constructor(kind: BodyKind, opts: BodyFramerOptions = {}) {
    this.kind = kind;
    this.onContent = opts.onContent;
    this.errorCode = opts.side === 'response' ? 'BURROW_HTTP_BAD_RESPONSE' : 'BURROW_HTTP_BAD_REQUEST';
    this.maxChunkLineBytes = opts.maxChunkLineBytes ?? DEFAULT_MAX_CHUNK_LINE_BYTES;
    this.maxTrailerBytes = opts.maxTrailerBytes ?? DEFAULT_MAX_TRAILER_BYTES;
    switch (kind.type) {
      case 'length': {
        const length = Number(kind.length);
        if (!Number.isSafeInteger(length) || length < 0) {
          throw new BurrowError(this.errorCode, `body length ${String(kind.length)} is out of range`);
        }
        this.remaining = length;
        this.state = length === 0 ? State.Done : State.Data;
        break;
      }
      case 'chunked':
        this.state = State.SizeStart;
        break;
      case 'none':
        this.state = State.Done;
        break;
      case 'until-close':
        this.state = State.UntilClose;
        break;
    }
  }

  /** True once the whole body has been seen; never for until-close. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Whether the peer closing now would end this body cleanly rather than truncate it. */
  get completeAtClose(): boolean {
    return this.state === State.Done || this.state === State.UntilClose;
  }

  /**
   * How many leading bytes of `chunk` belong to this body. When less than
   * `chunk.length`, the body ended there and the rest is the next message.
   * Throws a BurrowError on malformed chunked framing.
   */
  consume(chunk: Buffer): number {
    if (this.state === State.Done) return 0;
    if (this.state === State.UntilClose) {
      this.onContent?.(chunk, 0, chunk.length);
      return chunk.length;
    }
    if (this.kind.type === 'length') {
      const take = Math.min(this.remaining, chunk.length);
      if (take > 0) this.onContent?.(chunk, 0, take);
      this.remaining -= take;
      if (this.remaining === 0) this.state = State.Done;
      return take;
    }
    return this.consumeChunked(chunk);
  }

  private consumeChunked(chunk: Buffer): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === State.Data) {
        const take = Math.min(this.remaining, n - i);
        if (take > 0) this.onContent?.(chunk, i, i + take);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.DataCr;
        continue;
      }
      const byte = chunk[i] as number;
      i += 1;
      this.step(byte);
      if (this.state === State.Done) return i;
    }
    return n;
  }

  /** One byte of chunked framing outside chunk data. */
  private step(byte: number): void {
    switch (this.state) {
      case State.SizeStart: {
        const digit = hexValue(byte);
        if (digit < 0) throw this.fail('a chunk size must start with a hex digit');
        this.remaining = digit;
        this.sizeDigits = digit === 0 ? 0 : 1;
        this.lineBytes = 1;
        this.state = State.Size;
        return;
      }
      case State.Size: {
        this.countLineByte();
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (this.sizeDigits > 0 || digit > 0) this.sizeDigits += 1;
          if (this.sizeDigits > MAX_CHUNK_SIZE_DIGITS) throw this.fail('chunk size too large');
          this.remaining = this.remaining * 16 + digit;
          return;
        }
        this.afterSize(byte);
        return;
      }
      case State.SizeWhitespace:
        this.countLineByte();
        this.afterSize(byte);
        return;
      case State.Extension:
        this.countLineByte();
        if (byte === CR) this.state = State.SizeLf;
        else if (byte !== HTAB && (byte < SP || byte === 0x7f)) throw this.fail('a control character in a chunk extension');
        return;
      case State.SizeLf:
        if (byte !== LF) throw this.fail('a chunk-size line must end with CRLF');
        this.state = this.remaining === 0 ? State.TrailerLineStart : State.Data;
        this.trailerBytes = 0;
        return;
      case State.DataCr:
        if (byte !== CR) throw this.fail('chunk data longer than its size');
        this.state = State.DataLf;
        return;
      case State.DataLf:
        if (byte !== LF) throw this.fail('chunk data must end with CRLF');
        this.state = State.SizeStart;
        return;
      case State.TrailerLineStart:
        this.countTrailerByte();
        this.state = byte === CR ? State.TrailerEndLf : State.TrailerLine;
        if (byte === LF) throw this.fail('a trailer line must end with CRLF');
        return;
      case State.TrailerLine:
        this.countTrailerByte();
        if (byte === CR) this.state = State.TrailerLineLf;
        else if (byte === LF) throw this.fail('a trailer line must end with CRLF');
        return;
      case State.TrailerLineLf:
        this.countTrailerByte();
        if (byte !== LF) throw this.fail('a bare CR in the trailer section');
        this.state = State.TrailerLineStart;
        return;
      case State.TrailerEndLf:
        if (byte !== LF) throw this.fail('the trailer section must end with CRLF');
        this.state = State.Done;
        return;
      default:
        return;
    }
  }

  /** After the size digits: optional whitespace, then `;` extensions or CR. */
  private afterSize(byte: number): void {
    if (byte === SP || byte === HTAB) this.state = State.SizeWhitespace;
    else if (byte === 0x3b) this.state = State.Extension;
    else if (byte === CR) this.state = State.SizeLf;
    else throw this.fail('an invalid character in a chunk-size line');
  }

  private countLineByte(): void {
    this.lineBytes += 1;
    if (this.lineBytes > this.maxChunkLineBytes) throw this.fail(`a chunk-size line longer than ${this.maxChunkLineBytes} bytes`);
  }

  private countTrailerByte(): void {
    this.trailerBytes += 1;
    if (this.trailerBytes > this.maxTrailerBytes) throw this.fail(`a trailer section larger than ${this.maxTrailerBytes} bytes`);
  }

  private fail(what: string): BurrowError {
    return new BurrowError(this.errorCode, `malformed chunked body: ${what}`);
  }
}

/**
 * Parses Content-Length values: each must be 1*DIGIT and all must agree
 * (RFC 9110 §8.6). Undefined when there is no Content-Length.
 */
function contentLength(headers: HeaderList, code: BurrowErrorCode): number | undefined {
  const values = getHeaderValues(headers, 'content-length');
  if (values.length === 0) return undefined;
  const first = values[0] as string;
  for (const value of values) {
    if (!/^[0-9]+$/.test(value)) throw new BurrowError(code, `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
    if (value !== first) throw new BurrowError(code, 'conflicting Content-Length values');
  }
  const digits = first.replace(/^0+(?=.)/, '');
  const length = Number(digits);
  if (digits.length > 16 || !Number.isSafeInteger(length)) throw new BurrowError(code, `Content-Length ${first.slice(0, 40)} is too large`);
  return length;
}

/** Whether Transfer-Encoding is present, and whether its final coding is chunked. */
function transferCoding(headers: HeaderList, code: BurrowErrorCode): { present: boolean; chunked: boolean } {
  if (getHeaderValues(headers, 'transfer-encoding').length === 0) return { present: false, chunked: false };
  const codings = headerTokens(headers, 'transfer-encoding');
  if (codings.length === 0) throw new BurrowError(code, 'empty Transfer-Encoding');
  const chunkedAt = codings.indexOf('chunked');
  if (chunkedAt >= 0 && chunkedAt !== codings.length - 1) throw new BurrowError(code, 'chunked must be the last transfer coding, applied once');
  return { present: true, chunked: chunkedAt === codings.length - 1 };
}

/**
 * The body of a request (RFC 9112 §6.3). Refuses, as BURROW_HTTP_BAD_REQUEST,
 * every case where two parsers might disagree on where the body ends.
 */
export function requestBodyKind(head: RequestHead): BodyKind {
  const code: BurrowErrorCode = 'BURROW_HTTP_BAD_REQUEST';
  const te = transferCoding(head.headers, code);
  const length = contentLength(head.headers, code);
  if (te.present) {
    if (length !== undefined) throw new BurrowError(code, 'both Content-Length and Transfer-Encoding');
    if (head.version === 'HTTP/1.0') throw new BurrowError(code, 'Transfer-Encoding in an HTTP/1.0 request');
    if (!te.chunked) throw new BurrowError(code, 'a request Transfer-Encoding must end with chunked');
  }
  // CONNECT has no content: what follows is the tunnel.
  if (head.method === 'CONNECT') return { type: 'none' };
  if (te.chunked) return { type: 'chunked' };
  if (length !== undefined && length > 0) return { type: 'length', length };
  return { type: 'none' };
}

/** The body of a response to a request with `requestMethod` (RFC 9112 §6.3). */
export function responseBodyKind(requestMethod: string, head: ResponseHead): BodyKind {
  const code: BurrowErrorCode = 'BURROW_HTTP_BAD_RESPONSE';
  if (requestMethod === 'HEAD') return { type: 'none' };
  if (head.status < 200 || head.status === 204 || head.status === 304) return { type: 'none' };
  if (requestMethod === 'CONNECT' && head.status < 300) return { type: 'until-close' };
  const te = transferCoding(head.headers, code);
  if (te.present) return te.chunked ? { type: 'chunked' } : { type: 'until-close' };
  const length = contentLength(head.headers, code);
  if (length === undefined) return { type: 'until-close' };
  return length === 0 ? { type: 'none' } : { type: 'length', length };
}
