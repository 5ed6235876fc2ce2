import { createCipheriv, createDecipheriv } from 'node:crypto';
import { BurrowError } from '../util/errors.js';

/**
 * XChaCha20-Poly1305 (24-byte nonce) over Node's ChaCha20-Poly1305 (12-byte
 * nonce): the subkey is HChaCha20(key, nonce[0..16]) and the inner nonce is
 * four zero bytes and nonce[16..24], as the draft RFC and Go's x/crypto do.
 * Node has no XChaCha; HChaCha20 is twenty ChaCha rounds without the final
 * addition, small enough to write here.
 */

const TAG = 16;

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}

function quarter(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  s[a] = (s[a]! + s[b]!) >>> 0;
  s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) >>> 0;
  s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotl(s[b]! ^ s[c]!, 7);
}

/** HChaCha20: a 32-byte subkey from a 32-byte key and a 16-byte input. */
export function hchacha20(key: Buffer, input: Buffer): Buffer {
  const s = new Uint32Array(16);
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = input.readUInt32LE(i * 4);
  for (let i = 0; i < 10; i++) {
    quarter(s, 0, 4, 8, 12);
    quarter(s, 1, 5, 9, 13);
    quarter(s, 2, 6, 10, 14);
    quarter(s, 3, 7, 11, 15);
    quarter(s, 0, 5, 10, 15);
    quarter(s, 1, 6, 11, 12);
    quarter(s, 2, 7, 8, 13);
    quarter(s, 3, 4, 9, 14);
  }
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[i]!, i * 4);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[12 + i]!, 16 + i * 4);
  return out;
}

function inner(key: Buffer, nonce: Buffer): { subkey: Buffer; iv: Buffer } {
  const iv = Buffer.alloc(12);
  nonce.copy(iv, 4, 16, 24);
  return { subkey: hchacha20(key, nonce.subarray(0, 16)), iv };
}

/** ciphertext || tag */
export function xchachaSeal(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const { subkey, iv } = inner(key, nonce);
  const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** The plaintext of `sealed` (ciphertext || tag); BURROW_CIPHER when it does not authenticate. */
export function xchachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const { subkey, iv } = inner(key, nonce);
  const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG });
  decipher.setAAD(aad, { plaintextLength: sealed.length - TAG });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    throw new BurrowError('BURROW_CIPHER', 'message authentication failed');
  }
  return body;
}
