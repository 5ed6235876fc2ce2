import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BurrowError } from '../util/errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { xchachaOpen, xchachaSeal } from './xchacha20-poly1305.js';

/**
 * The v2 control connection's cipher after LoginResp, one direction:
 * `stream_nonce || record*`, a record being `u32be(ct_len) || AEAD(plaintext)`
 * with the stream nonce and the length as associated data and the nonce
 * incremented (big-endian, whole nonce) per record. The stream nonce is random
 * and sent lazily before the first record, as frp's writer does.
 */

export type AeadAlgorithm = 'aes-256-gcm' | 'xchacha20-poly1305';
export const AEAD_ALGORITHMS: readonly AeadAlgorithm[] = ['aes-256-gcm', 'xchacha20-poly1305'];

export const AEAD_KEY_LENGTH = 32;
/** Plaintext bytes per record, the reference's default. */
export const AEAD_MAX_PLAINTEXT = 64 * 1024;
const TAG = 16;
const LENGTH = 4;
/** AES-GCM with random nonces: the reference stops a stream after 2^32 records. */
const GCM_RECORD_LIMIT = 2 ** 32;

export function isAeadAlgorithm(s: unknown): s is AeadAlgorithm {
  return s === 'aes-256-gcm' || s === 'xchacha20-poly1305';
}

function nonceLength(alg: AeadAlgorithm): number {
  return alg === 'aes-256-gcm' ? 12 : 24;
}

function seal(alg: AeadAlgorithm, key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (alg === 'xchacha20-poly1305') return xchachaSeal(key, nonce, plaintext, aad);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

function open(alg: AeadAlgorithm, key: Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (alg === 'xchacha20-poly1305') return xchachaOpen(key, nonce, sealed, aad);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    throw new BurrowError('BURROW_CIPHER', 'control record failed authentication');
  }
  return body;
}

/** Big-endian +1 over the whole nonce, in place; false when it wrapped. */
function increment(nonce: Buffer): boolean {
  for (let i = nonce.length - 1; i >= 0; i--) {
    nonce[i] = (nonce[i]! + 1) & 0xff;
    if (nonce[i] !== 0) return true;
  }
  return false;
}

function checkKey(key: Buffer): void {
  if (key.length !== AEAD_KEY_LENGTH) throw new BurrowError('BURROW_CIPHER', `AEAD key must be ${AEAD_KEY_LENGTH} bytes, got ${key.length}`);
}

/** Writer side: plaintext in, records out (the stream nonce before the first). */
export class AeadSealer {
  private readonly streamNonce: Buffer;
  private readonly nonce: Buffer;
  private records = 0;
  private headerSent = false;

  constructor(
    private readonly alg: AeadAlgorithm,
    private readonly key: Buffer,
    /** for test vectors; a fresh random one otherwise */
    streamNonce?: Buffer,
  ) {
    checkKey(key);
    this.streamNonce = streamNonce ? Buffer.from(streamNonce) : randomBytes(nonceLength(alg));
    if (this.streamNonce.length !== nonceLength(alg)) throw new BurrowError('BURROW_CIPHER', `${alg} nonce must be ${nonceLength(alg)} bytes`);
    this.nonce = Buffer.from(this.streamNonce);
  }

  /** One record per 64 KiB of `plaintext` (one for a control frame), as bytes for one write. */
  update(plaintext: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.headerSent) {
      parts.push(this.streamNonce);
      this.headerSent = true;
    }
    for (let at = 0; at < plaintext.length; at += AEAD_MAX_PLAINTEXT) {
      if (this.alg === 'aes-256-gcm' && this.records >= GCM_RECORD_LIMIT) {
        throw new BurrowError('BURROW_CIPHER', `aead stream record limit ${GCM_RECORD_LIMIT} reached`);
      }
      const chunk = plaintext.subarray(at, at + AEAD_MAX_PLAINTEXT);
      const header = Buffer.allocUnsafe(LENGTH);
      header.writeUInt32BE(chunk.length + TAG, 0);
      parts.push(header, seal(this.alg, this.key, this.nonce, chunk, Buffer.concat([this.streamNonce, header])));
      if (!increment(this.nonce)) throw new BurrowError('BURROW_CIPHER', 'aead stream nonce exhausted');
      this.records += 1;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/**
 * Reader side: ciphertext in any chunking, plaintext out. The record length is
 * checked against the bound before the record is waited for; a bad length or
 * a record that fails authentication is BURROW_CIPHER, and the opener stays failed.
 */
export class AeadOpener {
  private readonly queue = new ChunkQueue(LENGTH);
  private streamNonce: Buffer | undefined;
  private nonce: Buffer | undefined;
  private records = 0;
  private failure: BurrowError | undefined;

  constructor(
    private readonly alg: AeadAlgorithm,
    private readonly key: Buffer,
  ) {
    checkKey(key);
  }

  /** The plaintext of every record completed by `chunk`, joined (empty when none completed). */
  update(chunk: Buffer): Buffer {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    const out: Buffer[] = [];
    try {
      for (let p = this.nextRecord(); p !== undefined; p = this.nextRecord()) out.push(p);
    } catch (err) {
      this.failure = err instanceof BurrowError ? err : new BurrowError('BURROW_CIPHER', 'bad control record', { cause: err });
      throw this.failure;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private nextRecord(): Buffer | undefined {
    const queue = this.queue;
    if (this.streamNonce === undefined) {
      const size = nonceLength(this.alg);
      if (queue.length < size) return undefined;
      this.streamNonce = Buffer.from(queue.take(size));
      this.nonce = Buffer.from(this.streamNonce);
    }
    if (queue.length < LENGTH) return undefined;
    const length = queue.peek(LENGTH).readUInt32BE(0);
    if (length < TAG) throw new BurrowError('BURROW_CIPHER', `aead record length ${length} is smaller than the tag (${TAG})`);
    if (length > AEAD_MAX_PLAINTEXT + TAG) throw new BurrowError('BURROW_CIPHER', `aead record length ${length} exceeds limit ${AEAD_MAX_PLAINTEXT + TAG}`);
    if (queue.length < LENGTH + length) return undefined;
    if (this.alg === 'aes-256-gcm' && this.records >= GCM_RECORD_LIMIT) {
      throw new BurrowError('BURROW_CIPHER', `aead stream record limit ${GCM_RECORD_LIMIT} reached`);
    }
    const header = Buffer.from(queue.take(LENGTH));
    const sealed = queue.take(length);
    const nonce = this.nonce!;
    const plaintext = open(this.alg, this.key, nonce, sealed, Buffer.concat([this.streamNonce, header]));
    if (!increment(nonce)) throw new BurrowError('BURROW_CIPHER', 'aead stream nonce exhausted');
    this.records += 1;
    return plaintext;
  }
}
