import { BurrowError } from '../util/errors.js';

/**
 * The 12-byte yamux frame header (protocol version 0), as the Go
 * implementation frp links puts it on the wire:
 * `version u8 | type u8 | flags u16 | streamId u32 | length u32`, big-endian.
 * For Data frames `length` is the payload size; for WindowUpdate it is the
 * credit delta, for Ping the opaque ping id, for GoAway the reason code.
 */
export const YAMUX_VERSION = 0;
export const HEADER_SIZE = 12;

/** Every stream starts with this much credit in each direction. */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

export enum FrameType {
  Data = 0,
  WindowUpdate = 1,
  Ping = 2,
  GoAway = 3,
}

export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const;

export const GoAwayCode = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const;

export interface FrameHeader {
  version: number;
  type: FrameType;
  flags: number;
  streamId: number;
  length: number;
}

const MAX_U32 = 0xffffffff;

/**
 * Validates the two bytes that make a header meaningful. Shared by the pure
 * decoder and the session's streaming reader so both reject the same input.
 */
export function checkVersionAndType(version: number, type: number): asserts type is FrameType {
  if (version !== YAMUX_VERSION) {
    throw new BurrowError('BURROW_MUX_PROTOCOL', `yamux: unsupported protocol version ${version} (expected ${YAMUX_VERSION})`);
  }
  if (type > FrameType.GoAway) {
    throw new BurrowError('BURROW_MUX_PROTOCOL', `yamux: unknown frame type ${type}`);
  }
}

/**
 * Writes header fields at `offset` without building a FrameHeader object;
 * the session uses this on its hot path.
 */
export function writeHeader(out: Buffer, offset: number, type: FrameType, flags: number, streamId: number, length: number): void {
  out[offset] = YAMUX_VERSION;
  out[offset + 1] = type;
  out.writeUInt16BE(flags, offset + 2);
  out.writeUInt32BE(streamId, offset + 4);
  out.writeUInt32BE(length, offset + 8);
}

/** A fresh 12-byte frame header. */
export function frameHeader(type: FrameType, flags: number, streamId: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(out, 0, type, flags, streamId, length);
  return out;
}

/**
 * Encodes `h` into `out` at `offset` (or into a new buffer) and returns the
 * 12 bytes written, as a view of `out` when one was given.
 */
export function encodeHeader(h: FrameHeader, out?: Buffer, offset = 0): Buffer {
  checkField('version', h.version, 0xff);
  checkVersionAndType(h.version, h.type);
  checkField('flags', h.flags, 0xffff);
  checkField('streamId', h.streamId, MAX_U32);
  checkField('length', h.length, MAX_U32);
  const target = out ?? Buffer.allocUnsafe(HEADER_SIZE);
  if (!Number.isInteger(offset) || offset < 0 || offset + HEADER_SIZE > target.length) {
    throw new BurrowError('BURROW_MUX_PROTOCOL', `yamux: no room for a ${HEADER_SIZE}-byte header at offset ${offset} of a ${target.length}-byte buffer`);
  }
  writeHeader(target, offset, h.type, h.flags, h.streamId, h.length);
  return out === undefined ? target : target.subarray(offset, offset + HEADER_SIZE);
}

/** Decodes the header at `offset`; rejects short input, a foreign version and unknown types. */
export function decodeHeader(buf: Buffer, offset = 0): FrameHeader {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < HEADER_SIZE) {
    throw new BurrowError('BURROW_MUX_PROTOCOL', `yamux: a header needs ${HEADER_SIZE} bytes, ${Math.max(0, buf.length - offset)} available`);
  }
  const version = buf[offset];
  const type = buf[offset + 1];
  checkVersionAndType(version, type);
  return {
    version,
    type,
    flags: buf.readUInt16BE(offset + 2),
    streamId: buf.readUInt32BE(offset + 4),
    length: buf.readUInt32BE(offset + 8),
  };
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new BurrowError('BURROW_MUX_PROTOCOL', `yamux: header ${name} ${value} is outside 0..${max}`);
  }
}
