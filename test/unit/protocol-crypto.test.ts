import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CfbDecryptor, CfbEncryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng } from '../helpers/random.js';

function split(data: Buffer, rand: (n: number) => number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = rand(4) === 0 ? 0 : 1 + rand(Math.min(data.length - i, 4096));
    parts.push(data.subarray(i, i + n));
    i += n;
  }
  return parts;
}

test('vector: PBKDF2-SHA1 key with salt "frp", 64 iterations, 16 bytes', () => {
  assert.equal(deriveCipherKey('abc').toString('hex'), '62e5ed67fdd04e5f1f71d779ceb9667f');
  assert.equal(deriveCipherKey('').toString('hex'), 'cdc9dc4c472c37331281df4c232a8407');
});

test('deriveCipherKey is memoized but hands out independent copies', () => {
  const a = deriveCipherKey('abc');
  a.fill(0);
  assert.equal(deriveCipherKey('abc').toString('hex'), '62e5ed67fdd04e5f1f71d779ceb9667f');
});

test('vector: control cipher bytes for the framed Ping with a fixed IV', () => {
  const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const enc = new CfbEncryptor(deriveCipherKey('abc'), iv);
  assert.equal(enc.update(Buffer.alloc(0)).length, 0, 'no IV before the first real write');
  const wire = enc.update(encodeMessage({ type: 'Ping', body: {} }));
  assert.equal(wire.toString('hex'), '000102030405060708090a0b0c0d0e0f' + 'c6740161fd1427c7cbb905');
  // The IV goes out once: the next write is ciphertext only.
  assert.equal(enc.update(Buffer.from('x')).length, 1);
});

test('random chunking on both sides round-trips', () => {
  const key = deriveCipherKey('chunky');
  for (let seed = 1; seed <= 50; seed++) {
    const rand = prng(seed);
    const plain = randomBytes(1 + rand(100_000));
    const enc = new CfbEncryptor(key);
    const wire = Buffer.concat(split(plain, rand).map((p) => enc.update(p)));
    assert.equal(wire.length, plain.length + 16);
    const dec = new CfbDecryptor(key);
    const back = Buffer.concat(split(wire, rand).map((p) => dec.update(p)));
    assert.ok(back.equals(plain), `seed ${seed}`);
  }
});

test('the IV may arrive one byte at a time', () => {
  const key = deriveCipherKey('abc');
  const wire = new CfbEncryptor(key).update(Buffer.from('hello'));
  const dec = new CfbDecryptor(key);
  const out: Buffer[] = [];
  for (const byte of wire) out.push(dec.update(Buffer.from([byte])));
  assert.deepEqual(
    out.slice(0, 16).map((b) => b.length),
    new Array(16).fill(0),
  );
  assert.equal(Buffer.concat(out).toString(), 'hello');
});

test('encryptor output is plain AES-128-CFB as Node (and the reference) implements it', () => {
  const key = deriveCipherKey('abc');
  const enc = new CfbEncryptor(key);
  const plain = randomBytes(70_001);
  const wire = Buffer.concat([enc.update(plain.subarray(0, 3)), enc.update(plain.subarray(3))]);
  const decipher = createDecipheriv('aes-128-cfb', key, wire.subarray(0, 16));
  assert.ok(Buffer.concat([decipher.update(wire.subarray(16)), decipher.final()]).equals(plain));

  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cfb', key, iv);
  const foreign = Buffer.concat([iv, cipher.update(plain), cipher.final()]);
  assert.ok(new CfbDecryptor(key).update(foreign).equals(plain));
});

test('bad key or IV sizes are refused with a cipher error', () => {
  const isCipher = (err: unknown): boolean => isBurrowError(err, 'BURROW_CIPHER');
  assert.throws(() => new CfbEncryptor(Buffer.alloc(15)), isCipher);
  assert.throws(() => new CfbEncryptor(Buffer.alloc(16), Buffer.alloc(8)), isCipher);
  assert.throws(() => new CfbDecryptor(Buffer.alloc(32)), isCipher);
});
