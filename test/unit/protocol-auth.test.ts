import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenDigest, verifyTokenDigest } from '../../src/protocol/auth.js';
import { isBurrowError } from '../../src/util/errors.js';

test('vector: token digest is md5(token + decimal seconds)', () => {
  assert.equal(tokenDigest('abc', 1700000000), '22bd6333f840eeeee03ad14f75fd96ac');
});

test('vector: empty token still yields a digest', () => {
  assert.equal(tokenDigest('', 1700000000), '24920decf83f6960b80f737a28eeafc1');
});

test('vector: visitor sign_key is the same digest keyed by the secret key', () => {
  assert.equal(tokenDigest('secret', 1700000000), 'e37729af62f40f134311cffbc230178e');
});

test('verifyTokenDigest accepts the exact digest only', () => {
  const digest = '22bd6333f840eeeee03ad14f75fd96ac';
  assert.equal(verifyTokenDigest('abc', 1700000000, digest), true);
  assert.equal(verifyTokenDigest('abd', 1700000000, digest), false);
  assert.equal(verifyTokenDigest('abc', 1700000001, digest), false);
  assert.equal(verifyTokenDigest('abc', 1700000000, digest.toUpperCase()), false, 'the reference compares exactly');
  assert.equal(verifyTokenDigest('abc', 1700000000, digest.slice(1)), false);
  assert.equal(verifyTokenDigest('abc', 1700000000, ''), false);
  assert.equal(verifyTokenDigest('abc', 1700000000, `${digest.slice(0, 31)}\u0163`), false, 'non-ASCII never aliases');
  assert.equal(verifyTokenDigest('abc', 1.5, digest), false);
});

test('a timestamp that is not whole seconds is refused, not silently formatted', () => {
  assert.throws(
    () => tokenDigest('abc', 1700000000.5),
    (err: unknown) => isBurrowError(err, 'BURROW_AUTH_FAILED'),
  );
});
