import type { Duplex } from 'node:stream';
import { FrameType, GoAwayCode, frameHeader } from './header.js';

/** After a protocol error we end the connection with a GoAway and wait this long for the peer to close. */
const CONN_LINGER_MS = 2_000;

/** The reason a peer's GoAway code names, for the error that ends the session. */
export function goAwayReason(code: number): string {
  if (code === GoAwayCode.ProtocolError) return 'protocol error';
  return code === GoAwayCode.InternalError ? 'internal error' : 'unknown reason';
}

/**
 * Ends `conn` with a GoAway carrying `code`. It keeps reading (and
 * dropping) until the peer closes, so the GoAway is not lost to a reset
 * caused by unread input, but for CONN_LINGER_MS at most.
 */
export function endWithGoAway(conn: Duplex, code: number): void {
  conn.end(frameHeader(FrameType.GoAway, 0, 0, code));
  const linger = setTimeout(() => conn.destroy(), CONN_LINGER_MS);
  linger.unref();
  conn.once('close', () => clearTimeout(linger));
}
