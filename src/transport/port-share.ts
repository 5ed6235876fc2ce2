/**
 * frp's port sharing on the bind port: with `vhostHTTPPort` or
 * `vhostHTTPSPort` equal to `bindPort` (and `proxyBindAddr` equal to
 * `bindAddr`), visitors of the HTTP and HTTPS vhosts arrive on the same port
 * as frp's clients. frps tells them apart by their first bytes, in this order
 * (first match wins):
 *   1. `GET /~!frp` (10 bytes)                → frp's websocket transport
 *   2. an HTTP method's first 3 bytes          → the HTTP vhost (when shared)
 *      a TLS handshake record, 0x16            → the HTTPS vhost (when shared)
 *   3. 0x17 (frp's marker) or 0x16            → frp over TLS
 *   4. anything else                          → frp in plain
 * So with the HTTPS vhost shared, a client's TLS must start with 0x17
 * (frpc: `transport.tls.disableCustomTLSFirstByte = false`), as with frps.
 * This file decides steps 1–2; sniff.ts does 3–4. Nothing is consumed: the
 * bytes looked at stay in the socket for whoever reads next.
 */
import type { Readable } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import { describeSocketError } from './tcp.js';
import { WEBSOCKET_REQUEST_PREFIX } from './websocket.js';

/** Where shared-port visitors go; each takes the raw socket, its first bytes unread. */
export interface PortShare<S> {
  http?: (socket: S) => void;
  https?: (socket: S) => void;
}

export type SharedKind = 'http' | 'https';

const TLS_HANDSHAKE_RECORD = 0x16;
/** frp's list (golib's HTTP matcher): the first three bytes of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH. */
const HTTP_METHOD_PREFIXES = new Set(['GET', 'HEA', 'POS', 'PUT', 'DEL', 'CON', 'OPT', 'TRA', 'PAT']);
const METHOD_FIRST_BYTES = new Set([...HTTP_METHOD_PREFIXES].map((m) => m.charCodeAt(0)));
const WEBSOCKET_PREFIX = Buffer.from(WEBSOCKET_REQUEST_PREFIX, 'latin1');

/**
 * The first `n` bytes of `stream` (fewer only if it ends first), left unread
 * in the stream. Rejects when nothing at all arrives within `timeoutMs`.
 */
export function peekBytes(stream: Readable, n: number, timeoutMs: number, remote: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const done = (err: BurrowError | undefined, bytes?: Buffer): void => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      if (bytes && bytes.length > 0) stream.unshift(bytes);
      if (err) reject(err);
      else resolve(bytes ?? Buffer.alloc(0));
    };
    const onReadable = (): void => {
      // read(n) gives nothing until n bytes are buffered, and whatever is left once the stream ended.
      const chunk = stream.read(n) as Buffer | null;
      if (chunk !== null) done(undefined, chunk);
    };
    const onEnd = (): void => {
      const rest = stream.read() as Buffer | null;
      if (rest && rest.length > 0) done(undefined, rest);
      else done(new BurrowError('BURROW_CLOSED', `connection from ${remote} closed before sending any data`));
    };
    const onError = (err: Error): void =>
      done(new BurrowError('BURROW_CLOSED', `connection from ${remote} failed before sending any data: ${describeSocketError(err)}`, { cause: err }));
    const timer = setTimeout(() => done(new BurrowError('BURROW_TIMEOUT', `connection from ${remote} sent too little within ${timeoutMs} ms`)), timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
  });
}

/** Steps 1–2 of frp's order: which shared vhost this connection is for, or undefined (frp's own traffic). */
export async function matchSharedPort(
  stream: Readable,
  share: { http?: unknown; https?: unknown },
  timeoutMs: number,
  remote: string,
): Promise<SharedKind | undefined> {
  const first = (await peekBytes(stream, 1, timeoutMs, remote))[0];
  if (share.https && first === TLS_HANDSHAKE_RECORD) return 'https';
  if (!share.http || first === undefined || !METHOD_FIRST_BYTES.has(first)) return undefined;
  const head = await peekBytes(stream, WEBSOCKET_PREFIX.length, timeoutMs, remote);
  if (!HTTP_METHOD_PREFIXES.has(head.subarray(0, 3).toString('latin1'))) return undefined;
  // frp's websocket transport outranks the HTTP vhost.
  return head.equals(WEBSOCKET_PREFIX) ? undefined : 'http';
}
