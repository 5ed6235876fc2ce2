/**
 * HTTP/1.x response heads as they come back from a backend through a work
 * connection: needed to find where each response ends (so the connection can
 * carry the next exchange) and to apply `response_headers`.
 *
 * Every problem is `BURROW_HTTP_BAD_RESPONSE`: the caller answers 404 (as frps) if
 * nothing was sent to the visitor yet, and closes the connection.
 */
import { BurrowError } from '../util/errors.js';
import { checkLimit, HeadScanner, type HeaderList } from './head-scanner.js';
import { headerTokens } from './headers.js';

export { getHeader, getHeaderValues, headerTokens, isKeepAlive } from './headers.js';
export type { HeaderList } from './headers.js';

export const DEFAULT_MAX_RESPONSE_HEAD_BYTES = 65_536;
export const DEFAULT_MAX_RESPONSE_HEADERS = 256;

export interface ResponseHead {
  version: string;
  status: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  headers: HeaderList;
  raw: Buffer;
}

export interface ResponseHeadParserOptions {
  maxHeadBytes?: number;
  maxHeaders?: number;
}

export class ResponseHeadParser {
  private readonly scanner: HeadScanner;
  private head: ResponseHead | undefined;

  constructor(opts: ResponseHeadParserOptions = {}) {
    this.scanner = new HeadScanner(
      {
        maxHeadBytes: checkLimit(opts.maxHeadBytes, DEFAULT_MAX_RESPONSE_HEAD_BYTES, 'maxHeadBytes'),
        maxHeaders: checkLimit(opts.maxHeaders, DEFAULT_MAX_RESPONSE_HEADERS, 'maxHeaders'),
      },
      { tooLarge: 'BURROW_HTTP_BAD_RESPONSE', malformed: 'BURROW_HTTP_BAD_RESPONSE', what: 'response' },
    );
  }

  /** The head once complete; the bytes after it via takeRemainder(). */
  push(chunk: Buffer): ResponseHead | undefined {
    if (this.head !== undefined) {
      this.scanner.push(chunk);
      return undefined;
    }
    const scanned = this.scanner.push(chunk);
    if (scanned === undefined) return undefined;
    const { version, status, reason } = parseStatusLine(scanned.startLine);
    this.head = { version, status, reason, headers: scanned.headers, raw: scanned.raw };
    return this.head;
  }

  takeRemainder(): Buffer {
    return this.scanner.takeRemainder();
  }

  get done(): boolean {
    return this.head !== undefined;
  }
}

const STATUS_LINE = /^(HTTP\/1\.[0-9]) ([1-9][0-9]{2})(?: (.*))?$/;

export function parseStatusLine(line: string): Pick<ResponseHead, 'version' | 'status' | 'reason'> {
  const match = STATUS_LINE.exec(line);
  if (match === null) throw new BurrowError('BURROW_HTTP_BAD_RESPONSE', `malformed status line ${JSON.stringify(line.slice(0, 100))}`);
  return { version: match[1] as string, status: Number(match[2]), reason: match[3] ?? '' };
}

/** 1xx other than 101: another head follows for the same request. */
export function isInterimResponse(head: ResponseHead): boolean {
  return head.status >= 100 && head.status < 200 && head.status !== 101;
}

/**
 * After this response, the connection is no longer HTTP: a 101 (Upgrade,
 * e.g. WebSocket) or a 2xx to CONNECT. Both directions are then piped raw.
 */
export function switchesToTunnel(requestMethod: string, head: ResponseHead): boolean {
  if (head.status === 101) return true;
  return requestMethod === 'CONNECT' && head.status >= 200 && head.status < 300;
}

/**
 * A 101 to a request that offered no Upgrade: RFC 9110 §15.2.2 forbids it,
 * and honouring it would let a backend turn a plain request into a raw
 * tunnel on the visitor's connection. The vhost answers 404 instead (frps's page for a failed backend).
 */
export function isUnrequestedSwitch(request: { headers: HeaderList }, head: ResponseHead): boolean {
  return head.status === 101 && headerTokens(request.headers, 'upgrade').length === 0;
}
