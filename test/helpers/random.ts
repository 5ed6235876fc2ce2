/** Deterministic PRNG (mulberry32) returning integers in [0, n), so a failing seed can be replayed. */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

/** Splits `data` at random points (1..maxPiece bytes each): "chaotic chunking" for incremental parsers. */
export function randomPieces(data: Buffer, rand: (n: number) => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + rand(maxPiece);
    pieces.push(data.subarray(i, i + n));
    i += n;
  }
  return pieces;
}
