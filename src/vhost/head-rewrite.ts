/**
 * Rebuilds message heads for the backend (request) and for the visitor
 * (response), as frp's reverse proxy would present them:
 *
 * - `host_header_rewrite` replaces the Host value;
 * - the client's X-Forwarded-For is kept with the client IP appended;
 *   X-Forwarded-Host, X-Forwarded-Proto and X-Real-IP are set fresh (a
 *   client's own values are dropped, they cannot be trusted), and so is the
 *   client's `Forwarded`;
 * - Proxy-Authorization and Proxy-Connection are dropped: they address this
 *   hop, and the credentials must not reach the backend;
 * - the SSO gate's cookies (`burrow_sso…`) are taken out of Cookie headers;
 * - configured `headers` / `response_headers` replace same-named headers
 *   case-insensitively, or are appended.
 *
 * Connection, Upgrade, Keep-Alive and the framing headers are kept as sent,
 * so keep-alive and WebSocket upgrades work and the body bytes relayed
 * untouched still match the head. For the same reason configured headers
 * never change Content-Length or Transfer-Encoding (nor Host: that is
 * `host_header_rewrite`'s job), as in frp.
 *
 * The output always uses CRLF line ends, one space after each colon.
 */
import { BurrowError } from '../util/errors.js';
import { hasBadValueChar, isToken, type HeaderList } from './head-scanner.js';
import { getHeaderValues } from './headers.js';
import { requestAuthority, type RequestHead } from './request-head.js';
import type { ResponseHead } from './response-head.js';
import { SSO_COOKIE_PREFIX } from './sso-policy.js';

/** Configured headers, validated and encoded once (see compileHeaderSet). */
export interface HeaderSet {
  readonly entries: ReadonlyArray<{ readonly name: string; readonly lower: string; readonly value: string }>;
}

export const EMPTY_HEADER_SET: HeaderSet = Object.freeze({ entries: Object.freeze([]) });

/** Headers a configured set may not touch: changing them would desynchronise framing or routing. */
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding']);
const DROPPED_FROM_REQUEST = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'forwarded',
  'proxy-authorization',
  'proxy-connection',
]);

/** UTF-8 text as a byte-per-char string, the form head values are kept in. */
function asLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function checkValue(value: string, what: string): void {
  if (hasBadValueChar(value)) throw new BurrowError('BURROW_CONFIG_INVALID', `${what} contains a control character or line break`);
}

/**
 * Validates a `headers` / `response_headers` map. Entries for Host,
 * Content-Length and Transfer-Encoding are ignored (as frp does). Throws
 * BURROW_CONFIG_INVALID for a name that is not a token or a value with
 * control characters (which would allow header injection).
 */
export function compileHeaderSet(map: Readonly<Record<string, string>> | undefined): HeaderSet {
  if (map === undefined) return EMPTY_HEADER_SET;
  const entries: Array<{ name: string; lower: string; value: string }> = [];
  for (const [name, value] of Object.entries(map)) {
    if (!isToken(name)) throw new BurrowError('BURROW_CONFIG_INVALID', `header name ${JSON.stringify(name)} is not a valid HTTP token`);
    checkValue(value, `header ${name}`);
    const lower = name.toLowerCase();
    if (PROTECTED.has(lower)) continue;
    entries.push({ name, lower, value: asLatin1(value.trim()) });
  }
  return Object.freeze({ entries: Object.freeze(entries) });
}

export interface RequestRewriteOptions {
  /** The visitor's IP address (no port, IPv6 without brackets); '' leaves the forwarding headers out. */
  clientIp: string;
  /** The scheme the visitor used to reach us. */
  proto: 'http' | 'https';
  /** `host_header_rewrite`; undefined or '' keeps the Host header. */
  hostRewrite?: string;
  /** `headers`, compiled. */
  setHeaders?: HeaderSet;
  /** the user an SSO login let through (burrow's own) */
  identity?: RequestIdentity;
}

/**
 * Who an SSO login let through: `header` is set to `value`. Any header the
 * visitor sent that a backend could read as the same one is dropped first:
 * the same name in any case, or with `_` for `-` (CGI-style servers map both
 * to one variable).
 */
export interface RequestIdentity {
  header: string;
  value: string;
}

/** A header name as CGI-style backends compare them: case and `_`/`-` ignored. */
function looseName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/** A Cookie header without the cookies named `prefix…`; undefined when none is left. */
function withoutCookies(value: string, prefix: string): string | undefined {
  const kept = value
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(prefix));
  return kept.length > 0 ? kept.join('; ') : undefined;
}

function applySet(headers: HeaderList, set: HeaderSet): void {
  for (const entry of set.entries) {
    let found = false;
    for (let i = 0; i < headers.length; ) {
      const pair = headers[i] as [string, string];
      if (pair[0].toLowerCase() !== entry.lower) {
        i += 1;
        continue;
      }
      if (found) {
        headers.splice(i, 1);
        continue;
      }
      found = true;
      headers[i] = [pair[0], entry.value];
      i += 1;
    }
    if (!found) headers.push([entry.name, entry.value]);
  }
}

function serialize(startLine: string, headers: HeaderList): Buffer {
  let text = startLine + '\r\n';
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  text += '\r\n';
  return Buffer.from(text, 'latin1');
}

/** The request head to send to the backend. */
export function rewriteRequestHead(head: RequestHead, opts: RequestRewriteOptions): Buffer {
  const clientIp = opts.clientIp;
  checkValue(clientIp, 'client IP');
  const originalHost = requestAuthority(head);
  const priorForwardedFor = getHeaderValues(head.headers, 'x-forwarded-for');
  const hostRewrite = opts.hostRewrite === undefined || opts.hostRewrite === '' ? undefined : asLatin1(opts.hostRewrite);
  if (hostRewrite !== undefined) checkValue(hostRewrite, 'host_header_rewrite');

  const headers: HeaderList = [];
  let sawHost = false;
  const identity = opts.identity;
  const identityHeader = identity ? looseName(identity.header) : undefined;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (DROPPED_FROM_REQUEST.has(lower) || (identityHeader !== undefined && looseName(name) === identityHeader)) continue;
    if (lower === 'cookie' && value.includes(SSO_COOKIE_PREFIX)) {
      // The SSO gate's cookies never go upstream, whether or not this request needed a login.
      const kept = withoutCookies(value, SSO_COOKIE_PREFIX);
      if (kept !== undefined) headers.push([name, kept]);
      continue;
    }
    if (lower === 'host') {
      sawHost = true;
      headers.push([name, hostRewrite ?? value]);
      continue;
    }
    headers.push([name, value]);
  }
  if (!sawHost && hostRewrite !== undefined) headers.unshift(['Host', hostRewrite]);

  if (clientIp !== '') {
    const forwardedFor = priorForwardedFor.length > 0 ? `${priorForwardedFor.join(', ')}, ${clientIp}` : clientIp;
    headers.push(['X-Forwarded-For', forwardedFor]);
  }
  if (originalHost !== '') headers.push(['X-Forwarded-Host', originalHost]);
  headers.push(['X-Forwarded-Proto', opts.proto]);
  if (clientIp !== '') headers.push(['X-Real-IP', clientIp]);
  if (identity) {
    checkValue(identity.value, identity.header);
    headers.push([identity.header, identity.value]);
  }

  if (opts.setHeaders !== undefined) applySet(headers, opts.setHeaders);
  return serialize(`${head.method} ${head.target} ${head.version}`, headers);
}

/** The response head to send to the visitor: `raw` itself when nothing is configured. */
export function rewriteResponseHead(head: ResponseHead, set: HeaderSet): Buffer {
  if (set.entries.length === 0) return head.raw;
  const headers: HeaderList = head.headers.map(([name, value]) => [name, value]);
  applySet(headers, set);
  const reason = head.reason === '' ? '' : ` ${head.reason}`;
  return serialize(`${head.version} ${head.status}${reason}`, headers);
}
