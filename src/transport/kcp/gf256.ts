/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d)
 * and generator 2: the field klauspost/reedsolomon (kcp-go's FEC) computes in,
 * so our parity bytes are theirs. Pure; tables built once at load.
 */

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
/** MUL[a * 256 + b] = a·b: one lookup per byte on the encode/decode path. */
const MUL = new Uint8Array(65536);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  // Doubled so that EXP[LOG[a] + LOG[b]] needs no modulo.
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255] ?? 0;
  for (let a = 1; a < 256; a++) {
    for (let b = 1; b < 256; b++) MUL[a * 256 + b] = EXP[(LOG[a] ?? 0) + (LOG[b] ?? 0)] ?? 0;
  }
}

export function gfMul(a: number, b: number): number {
  return MUL[(a << 8) | b] ?? 0;
}

export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero in GF(256)');
  if (a === 0) return 0;
  return EXP[(LOG[a] ?? 0) + 255 - (LOG[b] ?? 0)] ?? 0;
}

/** a^n, with a^0 = 1 (also for a = 0), as the Vandermonde construction wants. */
export function gfExp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[((LOG[a] ?? 0) * n) % 255] ?? 0;
}

/** The 256-entry row of products c·x, for multiplying a whole shard by one coefficient. */
export function gfMulRow(c: number): Uint8Array {
  return MUL.subarray(c << 8, (c << 8) + 256);
}
