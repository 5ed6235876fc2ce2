/**
 * Systematic Reed-Solomon erasure code over GF(2^8), with the encoding matrix
 * klauspost/reedsolomon builds by default (`New(data, parity)`): a Vandermonde
 * matrix (row r, column c = r^c) multiplied by the inverse of its top square,
 * so the first `data` rows are the identity and the rest make the parity.
 * Any `data` of the `data + parity` shards rebuild the rest. Pure.
 */
import { gfDiv, gfExp, gfMul, gfMulRow } from './gf256.js';

type Matrix = Uint8Array[];

function multiply(a: Matrix, b: Matrix): Matrix {
  const cols = b[0]?.length ?? 0;
  return a.map((row) => {
    const out = new Uint8Array(cols);
    for (let c = 0; c < cols; c++) {
      let v = 0;
      for (let k = 0; k < row.length; k++) v ^= gfMul(row[k] ?? 0, b[k]?.[c] ?? 0);
      out[c] = v;
    }
    return out;
  });
}

/** Gauss-Jordan; throws when the matrix is singular (cannot happen for subsets of this code's rows). */
function invert(m: Matrix): Matrix {
  const n = m.length;
  const work: Uint8Array[] = m.map((row, i) => {
    const ext = new Uint8Array(2 * n);
    ext.set(row);
    ext[n + i] = 1;
    return ext;
  });
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && (work[pivot]?.[col] ?? 0) === 0) pivot++;
    if (pivot === n) throw new RangeError('singular matrix');
    if (pivot !== col) [work[col], work[pivot]] = [work[pivot] as Uint8Array, work[col] as Uint8Array];
    const row = work[col] as Uint8Array;
    const scale = row[col] ?? 1;
    if (scale !== 1) for (let c = 0; c < 2 * n; c++) row[c] = gfDiv(row[c] ?? 0, scale);
    for (let r = 0; r < n; r++) {
      const other = work[r] as Uint8Array;
      const factor = r === col ? 0 : (other[col] ?? 0);
      if (factor === 0) continue;
      for (let c = 0; c < 2 * n; c++) other[c] = (other[c] ?? 0) ^ gfMul(factor, row[c] ?? 0);
    }
  }
  return work.map((row) => row.slice(n));
}

/** out ^= coefficient · input, byte by byte (out and input the same length). */
function mulAdd(out: Uint8Array, input: Uint8Array, coefficient: number): void {
  if (coefficient === 0) return;
  const row = gfMulRow(coefficient);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) ^ (row[input[i] ?? 0] ?? 0);
}

export class ReedSolomon {
  readonly dataShards: number;
  readonly parityShards: number;
  /** (data + parity) × data; the top square is the identity. */
  private readonly matrix: Matrix;

  constructor(dataShards: number, parityShards: number) {
    if (!Number.isInteger(dataShards) || !Number.isInteger(parityShards) || dataShards < 1 || parityShards < 1 || dataShards + parityShards > 256) {
      throw new RangeError(`invalid shard counts ${dataShards}+${parityShards}`);
    }
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    const total = dataShards + parityShards;
    const vandermonde: Matrix = Array.from({ length: total }, (_, r) => Uint8Array.from({ length: dataShards }, (_, c) => gfExp(r, c)));
    this.matrix = multiply(vandermonde, invert(vandermonde.slice(0, dataShards)));
  }

  /** The parity shards for `data` (all the same length). */
  encode(data: readonly Uint8Array[]): Uint8Array[] {
    if (data.length !== this.dataShards) throw new RangeError(`expected ${this.dataShards} data shards, got ${data.length}`);
    const size = data[0]?.length ?? 0;
    if (data.some((d) => d.length !== size)) throw new RangeError('data shards differ in length');
    const parity: Uint8Array[] = [];
    for (let p = 0; p < this.parityShards; p++) {
      const out = new Uint8Array(size);
      const coefficients = this.matrix[this.dataShards + p] as Uint8Array;
      for (let d = 0; d < this.dataShards; d++) mulAdd(out, data[d] as Uint8Array, coefficients[d] ?? 0);
      parity.push(out);
    }
    return parity;
  }

  /**
   * Fills the missing (null) data shards in place from any `dataShards` of the
   * present ones (all the same length). Returns false when too few are present.
   * Parity slots are left as they are.
   */
  reconstructData(shards: (Uint8Array | null)[]): boolean {
    if (shards.length !== this.dataShards + this.parityShards) throw new RangeError('wrong number of shards');
    const present: number[] = [];
    for (let i = 0; i < shards.length && present.length < this.dataShards; i++) if (shards[i]) present.push(i);
    if (present.length < this.dataShards) return false;
    let missing = false;
    for (let i = 0; i < this.dataShards; i++) if (!shards[i]) missing = true;
    if (!missing) return true;
    const size = shards[present[0] as number]?.length ?? 0;
    // Rows of the shards we have, inverted, map them back to the data.
    const decode = invert(present.map((i) => this.matrix[i] as Uint8Array));
    for (let d = 0; d < this.dataShards; d++) {
      if (shards[d]) continue;
      const out = new Uint8Array(size);
      const coefficients = decode[d] as Uint8Array;
      for (const [k, src] of present.entries()) mulAdd(out, shards[src] as Uint8Array, coefficients[k] ?? 0);
      shards[d] = out;
    }
    return true;
  }
}
