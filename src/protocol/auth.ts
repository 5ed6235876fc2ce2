import { createHash, timingSafeEqual } from 'node:crypto';
import { BurrowError } from '../util/errors.js';

/**
 * Token authentication of wire protocol v1: lowercase hex MD5 of the token
 * followed by the decimal Unix-seconds timestamp, no separator. The same
 * digest with the secret key as token is a visitor's `sign_key`.
 */
export function tokenDigest(token: string, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp)) {
    throw new BurrowError('BURROW_AUTH_FAILED', `timestamp must be an integer number of seconds, got ${timestamp}`);
  }
  return createHash('md5').update(`${token}${timestamp}`, 'utf8').digest('hex');
}

/**
 * Constant-time check of a received digest. The reference accepts any
 * timestamp whose digest matches (no clock window), and so does this; the
 * window is checkClockSkew's job.
 */
export function verifyTokenDigest(token: string, timestamp: number, digest: string): boolean {
  if (!Number.isSafeInteger(timestamp) || typeof digest !== 'string') return false;
  const expected = Buffer.from(tokenDigest(token, timestamp), 'utf8');
  const received = Buffer.from(digest, 'utf8');
  // The expected length is public (always 32), so an early exit on it leaks nothing.
  return received.length === expected.length && timingSafeEqual(expected, received);
}

/**
 * Unlike frp, a signed timestamp far from the server clock is refused, so a
 * captured digest cannot be replayed forever. Returns the refusal reason, or
 * undefined when the timestamp is within `maxSkewSeconds` (0 = no check).
 */
export function checkClockSkew(timestamp: number, nowSeconds: number, maxSkewSeconds: number): string | undefined {
  if (maxSkewSeconds <= 0) return undefined;
  const skew = Math.abs(nowSeconds - timestamp);
  if (skew <= maxSkewSeconds) return undefined;
  return `the clocks of client and server differ by ${skew} seconds (at most ${maxSkewSeconds} allowed); set both clocks right (NTP)`;
}

/**
 * A signed message (Login, or NewWorkConn / Ping with their scope on): the
 * digest, then the clock. Returns the refusal reason, or undefined.
 */
export function checkSignedTimestamp(
  token: string,
  timestamp: number | undefined,
  digest: string | undefined,
  maxSkewSeconds: number,
  nowSeconds: number,
  what: string,
): string | undefined {
  if (!verifyTokenDigest(token, timestamp ?? 0, digest ?? '')) return `authorization failed: the token in ${what} does not match the server token`;
  const skew = checkClockSkew(timestamp ?? 0, nowSeconds, maxSkewSeconds);
  return skew === undefined ? undefined : `authorization failed: ${what} refused, ${skew}`;
}
