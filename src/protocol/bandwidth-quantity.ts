import { BurrowError } from '../util/errors.js';

/** frp's units for `transport.bandwidthLimit`: binary, as its BandwidthQuantity. */
const UNITS: ReadonlyArray<readonly [suffix: string, bytes: number]> = [
  ['MB', 1024 * 1024],
  ['KB', 1024],
];

/**
 * Bytes per second for a bandwidth quantity as frp reads it: "10KB" is
 * 10 × 1024, "1.5MB" is 1.5 × 1024 × 1024 (truncated to whole bytes);
 * "" is no limit (0). 0 or less also means no limit to frp's proxies.
 * Throws BURROW_CONFIG_INVALID for any other unit, as frp refuses it.
 */
export function bandwidthBytes(quantity: string): number {
  const s = quantity.trim();
  if (s === '') return 0;
  for (const [suffix, base] of UNITS) {
    if (!s.endsWith(suffix)) continue;
    const number = s.slice(0, -suffix.length);
    const value = Number(number);
    if (number.trim() === '' || !Number.isFinite(value)) break;
    return Math.trunc(value * base);
  }
  throw new BurrowError('BURROW_CONFIG_INVALID', `bandwidth "${quantity}": unit not supported (use a size like "100KB" or "1MB")`);
}
