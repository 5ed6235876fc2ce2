import type { Timers } from './timers.js';

/**
 * What a paced stream asks of a bandwidth limit (relay/bandwidth-limit.ts has
 * the token bucket): here, below the layers, so the per-proxy options that
 * the vhost routes carry (protocol/payload-options.ts) can name one.
 */
export interface BandwidthBucket {
  /** the most bytes one reservation takes */
  readonly burst: number;
  /** takes `bytes` and returns how many ms to wait before they may pass (0 = now) */
  reserve(bytes: number): number;
  /** timers for the waits */
  readonly clock: Timers;
}
