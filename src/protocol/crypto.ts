import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import { BurrowError } from '../util/errors.js';

/**
 * The stream cipher of the control connection (after LoginResp) and of the
 * per-proxy `useEncryption` option: AES-128 in CFB mode with full 128-bit
 * feedback, no MAC. Each writer picks its own random IV and sends it in clear
 * just before its first ciphertext byte.
 */

const KEY_LENGTH = 16;
const IV_LENGTH = 16;
const SALT = 'frp';
const ITERATIONS = 64;
const EMPTY = Buffer.alloc(0);

/** Bounded so that a stream of distinct passwords (visitor secret keys) cannot grow memory. */
const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, Buffer>();

/** PBKDF2-HMAC-SHA1(password, "frp", 64 iterations) truncated to 16 bytes; memoized per password. */
export function deriveCipherKey(password: string): Buffer {
  let key = keyCache.get(password);
  if (key === undefined) {
    key = pbkdf2Sync(password, SALT, ITERATIONS, KEY_LENGTH, 'sha1');
    if (keyCache.size >= KEY_CACHE_LIMIT) {
      const oldest = keyCache.keys().next().value;
      if (oldest !== undefined) keyCache.delete(oldest);
    }
    keyCache.set(password, key);
  }
  // A copy, so a caller that scribbles on its key cannot corrupt everyone else's.
  return Buffer.from(key);
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_LENGTH) {
    throw new BurrowError('BURROW_CIPHER', `AES-128 key must be ${KEY_LENGTH} bytes, got ${key.length}`);
  }
}

export class CfbEncryptor {
  private readonly cipher: Cipher;
  private iv: Buffer | undefined;

  constructor(key: Buffer, iv: Buffer = randomBytes(IV_LENGTH)) {
    checkKey(key);
    if (iv.length !== IV_LENGTH) {
      throw new BurrowError('BURROW_CIPHER', `IV must be ${IV_LENGTH} bytes, got ${iv.length}`);
    }
    this.cipher = createCipheriv('aes-128-cfb', key, iv);
    this.iv = Buffer.from(iv);
  }

  /** Ciphertext for `plain`; the first non-empty call is prefixed with the IV. */
  update(plain: Buffer): Buffer {
    if (plain.length === 0) return EMPTY;
    const encrypted = this.cipher.update(plain);
    if (this.iv === undefined) return encrypted;
    const first = Buffer.concat([this.iv, encrypted], IV_LENGTH + encrypted.length);
    this.iv = undefined;
    return first;
  }
}

export class CfbDecryptor {
  private readonly key: Buffer;
  private decipher: Decipher | undefined;
  private readonly iv = Buffer.alloc(IV_LENGTH);
  private ivFilled = 0;

  constructor(key: Buffer) {
    checkKey(key);
    this.key = Buffer.from(key);
  }

  /** Plaintext for `cipher`; the peer's IV is taken from the first 16 bytes, however they are chunked. */
  update(cipher: Buffer): Buffer {
    if (this.decipher !== undefined) return cipher.length === 0 ? EMPTY : this.decipher.update(cipher);
    const take = Math.min(IV_LENGTH - this.ivFilled, cipher.length);
    cipher.copy(this.iv, this.ivFilled, 0, take);
    this.ivFilled += take;
    if (this.ivFilled < IV_LENGTH) return EMPTY;
    this.decipher = createDecipheriv('aes-128-cfb', this.key, this.iv);
    return take === cipher.length ? EMPTY : this.decipher.update(cipher.subarray(take));
  }
}
