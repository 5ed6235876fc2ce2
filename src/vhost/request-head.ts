/**
 * HTTP/1.1 request heads: an incremental, bounded parser, and the facts the
 * vhost router needs from a head (host, path, route user).
 *
 * The parser refuses anything whose framing two parsers could read
 * differently (RFC 9112 §6.3, §11.2): obs-fold, whitespace before a colon,
 * Content-Length together with Transfer-Encoding, conflicting lengths, a
 * request Transfer-Encoding that does not end in chunked. That refusal is
 * what makes it safe to relay the body bytes untouched and route the next
 * request on the same connection.
 */
import { BurrowError } from '../util/errors.js';
import { requestBodyKind } from './body-framer.js';
import { checkLimit, HeadScanner, isToken, type HeaderList } from './head-scanner.js';
import { canonicalHost, getHeader, getHeaderValues, parseBasicAuth, type BasicCredentials } from './headers.js';

export { canonicalHost, getHeader, getHeaderValues, headerTokens, isKeepAlive, parseBasicAuth } from './headers.js';
export type { BasicCredentials, HeaderList } from './headers.js';

export const DEFAULT_MAX_REQUEST_HEAD_BYTES = 16_384;
export const DEFAULT_MAX_REQUEST_HEADERS = 100;

export interface RequestHead {
  method: string;
  /** The request target as sent: origin-form, absolute-form, authority-form (CONNECT) or `*`. */
  target: string;
  /** `HTTP/1.0` or `HTTP/1.1` (any `HTTP/1.x`). */
  version: string;
  /** Original case and order kept. */
  headers: HeaderList;
  /** The head bytes as received (leading empty lines excluded). */
  raw: Buffer;
}

export interface RequestHeadParserOptions {
  maxHeadBytes?: number;
  maxHeaders?: number;
}

/**
 * Feed it the bytes of a connection; it returns the request head once
 * complete. Errors are BurrowErrors: `BURROW_HTTP_HEAD_TOO_LARGE` (answer 431)
 * or `BURROW_HTTP_BAD_REQUEST` (answer 400). One parser reads one head; for
 * the next request on a keep-alive connection, use a new parser.
 */
export class RequestHeadParser {
  private readonly scanner: HeadScanner;
  private head: RequestHead | undefined;

  constructor(opts: RequestHeadParserOptions = {}) {
    this.scanner = new HeadScanner(
      {
        maxHeadBytes: checkLimit(opts.maxHeadBytes, DEFAULT_MAX_REQUEST_HEAD_BYTES, 'maxHeadBytes'),
        maxHeaders: checkLimit(opts.maxHeaders, DEFAULT_MAX_REQUEST_HEADERS, 'maxHeaders'),
      },
      { tooLarge: 'BURROW_HTTP_HEAD_TOO_LARGE', malformed: 'BURROW_HTTP_BAD_REQUEST', what: 'request' },
    );
  }

  /** The head once complete (only on the push that completes it); the bytes after it via takeRemainder(). */
  push(chunk: Buffer): RequestHead | undefined {
    if (this.head !== undefined) {
      this.scanner.push(chunk);
      return undefined;
    }
    const scanned = this.scanner.push(chunk);
    if (scanned === undefined) return undefined;
    const { method, target, version } = parseRequestLine(scanned.startLine);
    const head: RequestHead = { method, target, version, headers: scanned.headers, raw: scanned.raw };
    validateRequestHead(head);
    this.head = head;
    return head;
  }

  /** Bytes received after the head: the body's start, or the next request. */
  takeRemainder(): Buffer {
    return this.scanner.takeRemainder();
  }

  get done(): boolean {
    return this.head !== undefined;
  }
}

function badRequest(message: string): BurrowError {
  return new BurrowError('BURROW_HTTP_BAD_REQUEST', message);
}

const VERSION = /^HTTP\/1\.[0-9]$/;
const BAD_TARGET_CHAR = /[\x00-\x20\x7f]/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** The bytes Go's HTTP server accepts in a Host value (frp's server is built on it). */
const HOST_VALUE = /^[A-Za-z0-9!$&'()*+,\-.:;=[\]_~%]*$/;

export function parseRequestLine(line: string): Pick<RequestHead, 'method' | 'target' | 'version'> {
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw badRequest(`malformed request line ${JSON.stringify(line.slice(0, 100))}`);
  const method = line.slice(0, firstSpace);
  const target = line.slice(firstSpace + 1, lastSpace);
  const version = line.slice(lastSpace + 1);
  if (!isToken(method)) throw badRequest(`invalid request method ${JSON.stringify(method.slice(0, 40))}`);
  if (target === '' || BAD_TARGET_CHAR.test(target)) throw badRequest('invalid request target (empty, or containing spaces or control characters)');
  if (!VERSION.test(version)) {
    if (method === 'PRI' && target === '*' && version === 'HTTP/2.0') throw badRequest('HTTP/2 with prior knowledge is not supported');
    throw badRequest(`unsupported HTTP version ${JSON.stringify(version.slice(0, 20))}`);
  }
  return { method, target, version };
}

function validateRequestHead(head: RequestHead): void {
  checkTargetForm(head);
  const hosts = getHeaderValues(head.headers, 'host');
  if (hosts.length > 1) throw badRequest('more than one Host header');
  if (hosts.length === 0 && head.version !== 'HTTP/1.0' && head.method !== 'CONNECT') throw badRequest('missing Host header');
  const host = hosts[0];
  if (host !== undefined && !HOST_VALUE.test(host)) throw badRequest(`invalid Host header ${JSON.stringify(host.slice(0, 100))}`);
  // Decoding the path and deciding the framing here means they cannot fail later.
  requestPath(head);
  requestBodyKind(head);
}

function checkTargetForm(head: RequestHead): void {
  const { method, target } = head;
  if (method === 'CONNECT') {
    if (target.includes('/') || target.includes('@') || target.startsWith(':')) throw badRequest('CONNECT needs a host:port target');
    return;
  }
  if (target === '*') {
    if (method !== 'OPTIONS') throw badRequest('the * target is only valid for OPTIONS');
    return;
  }
  if (target.startsWith('/') || ABSOLUTE_FORM.test(target)) return;
  throw badRequest(`invalid request target ${JSON.stringify(target.slice(0, 100))}`);
}

/** True for proxy-style requests (`GET http://host/path`) and CONNECT, whose target names the host. */
export function targetNamesHost(head: RequestHead): boolean {
  return head.method === 'CONNECT' || ABSOLUTE_FORM.test(head.target);
}

/**
 * The host as the client gave it (port and case kept): the target's
 * authority for proxy-style requests and CONNECT, else the Host header, else ''.
 */
export function requestAuthority(head: RequestHead): string {
  if (head.method === 'CONNECT') return head.target;
  const match = ABSOLUTE_FORM.exec(head.target);
  if (match !== null) {
    const rest = head.target.slice(match[0].length);
    const end = rest.search(/[/?#]/);
    const authority = end < 0 ? rest : rest.slice(0, end);
    return authority.slice(authority.lastIndexOf('@') + 1);
  }
  return getHeader(head.headers, 'host') ?? '';
}

/** The routing host: lower-cased, port and one trailing dot removed. */
export function requestHost(head: RequestHead): string {
  return canonicalHost(requestAuthority(head));
}

/**
 * The URL path used for location matching: percent-decoded, query removed;
 * `''` for CONNECT and for an absolute URL without a path, `*` for `OPTIONS *`.
 */
export function requestPath(head: RequestHead): string {
  let target = head.target;
  if (head.method === 'CONNECT') return '';
  if (target === '*') return '*';
  const match = ABSOLUTE_FORM.exec(target);
  if (match !== null) {
    const rest = target.slice(match[0].length);
    const slash = rest.search(/[/?#]/);
    target = slash < 0 || rest[slash] !== '/' ? '' : rest.slice(slash);
  }
  const end = target.search(/[?#]/);
  return percentDecode(end < 0 ? target : target.slice(0, end));
}

function percentDecode(path: string): string {
  if (/^[\x00-\x7f]*$/.test(path) && !path.includes('%')) return path;
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i += 1) {
    const c = path.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c & 0xff);
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw badRequest(`invalid percent-encoding in the request path ${JSON.stringify(path.slice(0, 100))}`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Basic credentials from `Authorization` or `Proxy-Authorization`, if present and well-formed. */
export function basicAuth(head: RequestHead, header: 'authorization' | 'proxy-authorization'): BasicCredentials | undefined {
  return parseBasicAuth(getHeader(head.headers, header));
}

/**
 * The user that selects a route (frp's routeByHTTPUser): for proxy-style
 * requests and CONNECT the Proxy-Authorization user, or, only when that
 * header is absent or empty, the Authorization user (so such a request still
 * reaches its route and gets 407 rather than 404, as frps); '' when there is
 * none. A Proxy-Authorization that is not Basic names no user, as in frps.
 */
export function requestRouteUser(head: RequestHead): string {
  if (targetNamesHost(head)) {
    const proxyAuth = getHeader(head.headers, 'proxy-authorization') ?? '';
    if (proxyAuth !== '') return parseBasicAuth(proxyAuth)?.user ?? '';
  }
  return basicAuth(head, 'authorization')?.user ?? '';
}
