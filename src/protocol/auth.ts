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
 * timestamp whose digest matches (no clock window), and so does this.
 */
export function verifyTokenDigest(token: string, timestamp: number, digest: string): boolean {
  if (!Number.isSafeInteger(timestamp) || typeof digest !== 'string') return false;
  const expected = Buffer.from(tokenDigest(token, timestamp), 'utf8');
  const received = Buffer.from(digest, 'utf8');
  // The expected length is public (always 32), so an early exit on it leaks nothing.
  return received.length === expected.length && timingSafeEqual(expected, received);
}
