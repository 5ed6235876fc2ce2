import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeOid,
  derElement,
  derNamedBits,
  derOid,
  derSequence,
  derTime,
  derUnsignedInteger,
  derUtf8String,
  readDerChildren,
  readDerNode,
} from '../../src/transport/der.js';
import { isBurrowError } from '../../src/util/errors.js';

const hex = (b: Buffer): string => b.toString('hex');

test('object identifiers use base-128 arcs with the first two folded', () => {
  assert.equal(hex(derOid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
  assert.equal(hex(derOid('2.5.29.17')), '0603551d11');
  assert.equal(hex(derOid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(decodeOid(derOid('1.3.6.1.5.5.7.3.1').subarray(2)), '1.3.6.1.5.5.7.3.1');
  assert.throws(
    () => derOid('1'),
    (err: unknown) => isBurrowError(err, 'BURROW_TLS'),
  );
});

test('integers are minimal: leading zeros dropped, one added back for a set top bit', () => {
  assert.equal(hex(derUnsignedInteger(Buffer.from([0x00, 0x00, 0x7f]))), '02017f');
  assert.equal(hex(derUnsignedInteger(Buffer.from([0x80]))), '02020080');
  assert.equal(hex(derUnsignedInteger(Buffer.from([0x00, 0x80, 0x01]))), '0203008001');
  assert.equal(hex(derUnsignedInteger(Buffer.alloc(0))), '020100');
  assert.equal(hex(derUnsignedInteger(Buffer.from([0, 0]))), '020100');
});

test('lengths switch to the long form at 128 bytes', () => {
  assert.equal(hex(derElement(0x04, Buffer.alloc(127)).subarray(0, 2)), '047f');
  assert.equal(hex(derElement(0x04, Buffer.alloc(200)).subarray(0, 3)), '0481c8');
  assert.equal(hex(derElement(0x04, Buffer.alloc(300)).subarray(0, 4)), '0482012c');
  assert.equal(hex(derElement(0x04, Buffer.alloc(70_000)).subarray(0, 5)), '0483011170');
});

test('named bit strings drop trailing zero bits', () => {
  assert.equal(hex(derNamedBits([0])), '03020780'); // digitalSignature
  assert.equal(hex(derNamedBits([0, 5, 6])), '03020186'); // CA usages
  assert.equal(hex(derNamedBits([0, 2])), '030205a0');
  assert.equal(hex(derNamedBits([8])), '0303070080');
  assert.equal(hex(derNamedBits([])), '030100');
});

test('times are UTCTime through 2049 and GeneralizedTime from 2050', () => {
  assert.equal(derTime(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))).toString('latin1', 2), '491231235959Z');
  assert.equal(derTime(new Date(Date.UTC(2049, 0, 1))).readUInt8(0), 0x17);
  const later = derTime(new Date(Date.UTC(2050, 0, 2, 3, 4, 5, 678)));
  assert.equal(later.readUInt8(0), 0x18);
  assert.equal(later.toString('latin1', 2), '20500102030405Z');
});

test('the reader walks what the writer wrote', () => {
  const written = derSequence(derOid('2.5.4.3'), derUtf8String('héllo'), derElement(0x04, Buffer.alloc(300, 7)));
  const children = readDerChildren(readDerNode(written));
  assert.deepEqual(
    children.map((c) => c.tag),
    [0x06, 0x0c, 0x04],
  );
  assert.equal(decodeOid(children[0]!.content), '2.5.4.3');
  assert.equal(children[1]!.content.toString('utf8'), 'héllo');
  assert.equal(children[2]!.content.length, 300);
});

test('the reader rejects truncated and oversized input with BURROW_TLS', () => {
  const isTls = (err: unknown): boolean => isBurrowError(err, 'BURROW_TLS');
  assert.throws(() => readDerNode(Buffer.from([0x30])), isTls);
  assert.throws(() => readDerNode(Buffer.from([0x30, 0x05, 0x01])), isTls);
  assert.throws(() => readDerNode(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), isTls);
  assert.throws(() => readDerNode(Buffer.from([0x30, 0x83, 0x7f, 0xff, 0xff])), isTls);
  assert.throws(() => readDerChildren(readDerNode(Buffer.from([0x04, 0x00]))), isTls);
  // A child that claims more than its parent holds.
  assert.throws(() => readDerChildren(readDerNode(Buffer.from([0x30, 0x02, 0x04, 0x05]))), isTls);
});
