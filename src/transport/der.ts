/**
 * Just enough DER (ASN.1 distinguished encoding) to write an X.509 v3
 * certificate and to find a few fields inside one. DER has exactly one
 * encoding per value, and strict parsers (Go's crypto/x509 among them) reject
 * anything else, so every writer here emits the minimal form.
 */
import { BurrowError } from '../util/errors.js';

const TAG_BOOLEAN = 0x01;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_NULL = 0x05;
const TAG_OID = 0x06;
const TAG_UTF8_STRING = 0x0c;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;

/** Largest element we write or accept; certificates are a few kilobytes. */
const MAX_DER_LENGTH = 1 << 20;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element. */
export function derElement(tag: number, content: Buffer): Buffer {
  if (content.length > MAX_DER_LENGTH) {
    throw new BurrowError('BURROW_TLS', `DER element of ${content.length} bytes is larger than ${MAX_DER_LENGTH}`);
  }
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function derSequence(...items: Buffer[]): Buffer {
  return derElement(TAG_SEQUENCE, Buffer.concat(items));
}

/** SET OF with a single member needs no sorting, which is all a Name uses. */
export function derSet(...items: Buffer[]): Buffer {
  return derElement(TAG_SET, Buffer.concat(items));
}

export function derBoolean(value: boolean): Buffer {
  return derElement(TAG_BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function derNull(): Buffer {
  return derElement(TAG_NULL, Buffer.alloc(0));
}

/**
 * A non-negative INTEGER from its big-endian magnitude: leading zero bytes are
 * dropped and one is put back only when the top bit would read as a sign.
 */
export function derUnsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length === 0) body = Buffer.from([0]);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return derElement(TAG_INTEGER, body);
}

export function derSmallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new BurrowError('BURROW_TLS', `DER integer ${value} is out of range`);
  }
  const magnitude = Buffer.alloc(4);
  magnitude.writeUInt32BE(value);
  return derUnsignedInteger(magnitude);
}

export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => Number(arc));
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new BurrowError('BURROW_TLS', `"${dotted}" is not an object identifier`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    // Base-128, most significant group first, continuation bit on all but the last.
    const groups = [arc & 0x7f];
    for (let rest7 = Math.floor(arc / 128); rest7 > 0; rest7 = Math.floor(rest7 / 128)) {
      groups.unshift((rest7 & 0x7f) | 0x80);
    }
    bytes.push(...groups);
  }
  return derElement(TAG_OID, Buffer.from(bytes));
}

export function derUtf8String(text: string): Buffer {
  return derElement(TAG_UTF8_STRING, Buffer.from(text, 'utf8'));
}

export function isIa5String(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

export function derOctetString(content: Buffer): Buffer {
  return derElement(TAG_OCTET_STRING, content);
}

/** A BIT STRING holding whole bytes (keys, signatures). */
export function derBitString(content: Buffer): Buffer {
  return derElement(TAG_BIT_STRING, Buffer.concat([Buffer.from([0]), content]));
}

/**
 * A BIT STRING of named bits (bit 0 = most significant bit of the first byte).
 * DER drops trailing zero bits and records how many bits of the last byte are unused.
 */
export function derNamedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(-1, ...bits);
  if (highest < 0) return derElement(TAG_BIT_STRING, Buffer.from([0]));
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const unused = 7 - (highest & 7);
  return derElement(TAG_BIT_STRING, Buffer.concat([Buffer.from([unused]), bytes]));
}

/**
 * RFC 5280: UTCTime through 2049, GeneralizedTime from 2050, always in UTC
 * with seconds and no fraction.
 */
export function derTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return derElement(TAG_UTC_TIME, Buffer.from(`${pad(year % 100)}${rest}`, 'latin1'));
  if (year < 0 || year > 9999) throw new BurrowError('BURROW_TLS', `year ${year} cannot be written in a certificate`);
  return derElement(TAG_GENERALIZED_TIME, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}

/** `[n] EXPLICIT`: a constructed context tag wrapping a whole element. */
export function derExplicit(tagNumber: number, element: Buffer): Buffer {
  return derElement(0xa0 | tagNumber, element);
}

/** `[n] IMPLICIT` over a primitive type: the context tag replaces the type's tag. */
export function derImplicitPrimitive(tagNumber: number, content: Buffer): Buffer {
  return derElement(0x80 | tagNumber, content);
}

// ---------------------------------------------------------------------------
// Reading: walk elements without interpreting more than the caller asks for.

export interface DerNode {
  readonly tag: number;
  /** The whole element, header included. */
  readonly raw: Buffer;
  /** The value bytes only. */
  readonly content: Buffer;
}

function malformed(what: string): BurrowError {
  return new BurrowError('BURROW_TLS', `malformed DER: ${what}`);
}

/** Reads the element that starts at `offset` of `input`. */
export function readDerNode(input: Buffer, offset = 0): DerNode {
  const tag = input[offset];
  const first = input[offset + 1];
  if (tag === undefined || first === undefined) throw malformed('truncated header');
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tags are not supported');
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3) throw malformed(`length of ${count} bytes`);
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = input[offset + 2 + i];
      if (byte === undefined) throw malformed('truncated length');
      length = length * 256 + byte;
    }
    headerLength += count;
  }
  if (length > MAX_DER_LENGTH) throw malformed(`element of ${length} bytes`);
  const end = offset + headerLength + length;
  if (end > input.length) throw malformed(`element of ${length} bytes runs past the end of its container`);
  return {
    tag,
    raw: input.subarray(offset, end),
    content: input.subarray(offset + headerLength, end),
  };
}

/** The elements inside a constructed element (SEQUENCE, SET, explicit tag). */
export function readDerChildren(parent: DerNode): DerNode[] {
  if (!(parent.tag & 0x20)) throw malformed(`tag 0x${parent.tag.toString(16)} is not constructed`);
  const children: DerNode[] = [];
  for (let offset = 0; offset < parent.content.length; ) {
    const child = readDerNode(parent.content, offset);
    children.push(child);
    offset += child.raw.length;
  }
  return children;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(content: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw malformed('object identifier arc too large');
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const [head, ...rest] = arcs;
  if (head === undefined) throw malformed('empty object identifier');
  const first = head < 80 ? Math.floor(head / 40) : 2;
  return [first, head - first * 40, ...rest].join('.');
}

export const DER_TAGS = {
  sequence: TAG_SEQUENCE,
  octetString: TAG_OCTET_STRING,
  oid: TAG_OID,
  bitString: TAG_BIT_STRING,
  boolean: TAG_BOOLEAN,
} as const;
