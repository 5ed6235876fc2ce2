/** Bounds shared by the plugins; each is per connection, so hitting one closes only that connection. */
import { DEFAULT_MAX_REQUEST_HEAD_BYTES, DEFAULT_MAX_REQUEST_HEADERS } from '../vhost/request-head.js';

/** A request head (request line and headers) may not be larger than the vhost router lets through. */
export const MAX_HEAD_BYTES = DEFAULT_MAX_REQUEST_HEAD_BYTES;
export const MAX_HEADERS = DEFAULT_MAX_REQUEST_HEADERS;
/** Time for a request head, a SOCKS5 handshake or a TLS handshake to arrive (frp: ReadHeaderTimeout). */
export const HANDSHAKE_TIMEOUT_MS = 60_000;
/** A keep-alive connection idle between requests is closed (Go falls back to ReadHeaderTimeout). */
export const KEEP_ALIVE_IDLE_MS = 60_000;
/** Time for a whole request (head and body) to arrive. */
export const REQUEST_TIMEOUT_MS = 300_000;
/** Dialing the local service or a proxy target. */
export const DIAL_TIMEOUT_MS = 10_000;
/** Wrong credentials are answered late, as frp does, to slow down guessing. */
export const AUTH_FAIL_DELAY_MS = 200;
