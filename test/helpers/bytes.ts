/** `n` as two big-endian bytes, as TLS and DNS length and type fields are written. */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
