/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of the
 * snappy framing format. Node has no built-in for this polynomial, so it is
 * computed here with slicing-by-8: eight 256-entry tables let the loop consume
 * eight bytes per step instead of one.
 */

const POLY = 0x82f63b78;

function buildTables(): Int32Array[] {
  const tables: Int32Array[] = [];
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1];
    const next = new Int32Array(256);
    for (let n = 0; n < 256; n++) next[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(next);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = buildTables();

/** CRC-32C of `buf`, as an unsigned 32-bit integer. */
export function crc32c(buf: Uint8Array): number {
  let crc = -1;
  let i = 0;
  const len = buf.length;
  const end8 = len - (len & 7);
  while (i < end8) {
    const lo = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    crc =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
    i += 8;
  }
  while (i < len) crc = T0[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** The snappy framing format stores checksums masked, so that a CRC of data containing CRCs stays well distributed. */
export function maskedCrc32c(buf: Uint8Array): number {
  const c = crc32c(buf);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}
