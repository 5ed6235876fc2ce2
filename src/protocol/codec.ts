import { BurrowError } from '../util/errors.js';
import {
  MESSAGE_SCHEMA,
  MESSAGE_TYPE_BYTE,
  messageTypeFromByte,
  type FieldKind,
  type Message,
  type MessageType,
  type StructSchema,
} from './messages.js';

/**
 * Wire protocol v1 framing: one type byte, a signed 64-bit big-endian body
 * length, then a JSON object. Every v1 reader of the reference refuses bodies
 * above this size, so frames we send must stay under it too.
 */
export const MAX_MESSAGE_BODY = 10240;

const HEADER_LENGTH = 9;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------
// Encoding

type JsonObject = Record<string, unknown>;

function isEmptyValue(kind: FieldKind, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  switch (kind) {
    case 'str':
      return value === '';
    case 'int':
    case 'u16':
      return value === 0;
    case 'bool':
      return value === false;
    case 'strs':
      return Array.isArray(value) && value.length === 0;
    case 'map':
      return typeof value === 'object' && Object.keys(value).length === 0;
    default:
      // A nested struct is dropped only when absent (a nil pointer in the reference).
      return 'list' in kind && Array.isArray(value) && value.length === 0;
  }
}

function encodeFailure(path: string, expected: string): BurrowError {
  return new BurrowError('BURROW_BAD_FRAME', `cannot encode ${path}: expected ${expected}`);
}

function encodeValue(kind: FieldKind, value: unknown, path: string): string {
  switch (kind) {
    case 'str':
      if (typeof value !== 'string') throw encodeFailure(path, 'a string');
      return JSON.stringify(value);
    case 'int':
    case 'u16':
      if (!Number.isSafeInteger(value)) throw encodeFailure(path, 'an integer');
      return String(value);
    case 'bool':
      if (typeof value !== 'boolean') throw encodeFailure(path, 'a boolean');
      return value ? 'true' : 'false';
    case 'strs': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw encodeFailure(path, 'an array of strings');
      }
      return JSON.stringify(value);
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw encodeFailure(path, 'an object');
      const map = value as JsonObject;
      // The reference writes map keys sorted.
      const parts = Object.keys(map)
        .sort()
        .map((k) => {
          const v = map[k];
          if (typeof v !== 'string') throw encodeFailure(`${path}.${k}`, 'a string');
          return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
        });
      return `{${parts.join(',')}}`;
    }
    default: {
      if ('list' in kind) {
        if (!Array.isArray(value)) throw encodeFailure(path, 'an array');
        return `[${value.map((item, i) => encodeStruct(kind.list, item, false, `${path}[${i}]`)).join(',')}]`;
      }
      return encodeStruct(kind.struct, value, kind.keepEmpty === true, path);
    }
  }
}

function encodeStruct(schema: StructSchema, value: unknown, keepEmpty: boolean, path: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw encodeFailure(path, 'an object');
  const obj = value as JsonObject;
  let out = '';
  for (const name of Object.keys(schema)) {
    const kind = schema[name];
    const v = obj[name];
    let text: string;
    if (v === undefined || v === null) {
      if (typeof kind === 'object' && 'struct' in kind && kind.always) {
        text = encodeStruct(kind.struct, {}, kind.keepEmpty === true, `${path}.${name}`);
      } else if (keepEmpty && typeof kind === 'string') {
        text = zeroValue(kind);
      } else {
        continue;
      }
    } else if (!keepEmpty && isEmptyValue(kind, v)) {
      continue;
    } else {
      text = encodeValue(kind, v, `${path}.${name}`);
    }
    out += `${out === '' ? '' : ','}"${name}":${text}`;
  }
  return `{${out}}`;
}

/** Zero values for structs whose members the reference writes unconditionally. */
function zeroValue(kind: FieldKind): string {
  switch (kind) {
    case 'str':
      return '""';
    case 'int':
    case 'u16':
      return '0';
    case 'bool':
      return 'false';
    default:
      return 'null';
  }
}

// The reference escapes these inside strings; done here for byte parity.
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** The JSON body exactly as the reference encoder writes it (key order, omitempty, escaping). */
export function encodeBody(msg: Message): string {
  const json = encodeStruct(MESSAGE_SCHEMA[msg.type], msg.body, false, msg.type);
  return json.replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c] ?? c);
}

/** The whole frame in one Buffer, so it goes out in a single write as the reference does. */
export function encodeMessage(msg: Message): Buffer {
  return encodeMessageWithin(msg, MAX_MESSAGE_BODY);
}

/**
 * encodeMessage with another body limit, for the streams whose reader agreed
 * to more (the UDPPacket streams, see UDP_STREAM_MAX_BODY).
 */
export function encodeMessageWithin(msg: Message, maxBodyLength: number): Buffer {
  const json = encodeBody(msg);
  const bodyLength = Buffer.byteLength(json);
  if (bodyLength > maxBodyLength) {
    throw new BurrowError(
      'BURROW_FRAME_TOO_LARGE',
      `${msg.type} body is ${bodyLength} bytes; the peer accepts at most ${maxBodyLength}`,
    );
  }
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  frame[0] = MESSAGE_TYPE_BYTE[msg.type];
  frame.writeUInt32BE(0, 1);
  frame.writeUInt32BE(bodyLength, 5);
  frame.write(json, HEADER_LENGTH, 'utf8');
  return frame;
}

// ---------------------------------------------------------------------------
// Decoding

interface FieldEntry {
  readonly name: string;
  readonly kind: FieldKind;
}
interface FieldIndex {
  readonly exact: ReadonlyMap<string, FieldEntry>;
  readonly folded: ReadonlyMap<string, FieldEntry>;
}

const indexCache = new WeakMap<StructSchema, FieldIndex>();

/** The reference matches keys case-insensitively when there is no exact match; so do we. */
function fieldIndex(schema: StructSchema): FieldIndex {
  let index = indexCache.get(schema);
  if (!index) {
    const exact = new Map<string, FieldEntry>();
    const folded = new Map<string, FieldEntry>();
    for (const name of Object.keys(schema)) {
      const entry = { name, kind: schema[name] };
      exact.set(name, entry);
      folded.set(name.toLowerCase(), entry);
    }
    index = { exact, folded };
    indexCache.set(schema, index);
  }
  return index;
}

function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'fractional number';
  return typeof value;
}

function decodeFailure(path: string, expected: string, value: unknown): BurrowError {
  return new BurrowError('BURROW_BAD_FRAME', `bad message: ${path} must be ${expected}, got ${jsonTypeName(value)}`);
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeValue(kind: FieldKind, value: unknown, path: string): unknown {
  switch (kind) {
    case 'str':
      if (typeof value !== 'string') throw decodeFailure(path, 'a string', value);
      return value;
    case 'int':
      if (!Number.isSafeInteger(value)) throw decodeFailure(path, 'an integer', value);
      return value;
    case 'u16':
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffff) {
        throw decodeFailure(path, 'an integer in 0-65535', value);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw decodeFailure(path, 'a boolean', value);
      return value;
    case 'strs':
      if (!Array.isArray(value)) throw decodeFailure(path, 'an array of strings', value);
      return value.map((item: unknown, i) => {
        if (item === null) return '';
        if (typeof item !== 'string') throw decodeFailure(`${path}[${i}]`, 'a string', item);
        return item;
      });
    case 'map': {
      if (!isPlainObject(value)) throw decodeFailure(path, 'an object of strings', value);
      // fromEntries defines own properties, so a key like "__proto__" stays data.
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => {
          if (v === null) return [k, ''];
          if (typeof v !== 'string') throw decodeFailure(`${path}.${k}`, 'a string', v);
          return [k, v];
        }),
      );
    }
    default:
      if ('list' in kind) {
        if (!Array.isArray(value)) throw decodeFailure(path, 'an array of objects', value);
        return value.map((item: unknown, i) => decodeStruct(kind.list, item ?? {}, `${path}[${i}]`));
      }
      return decodeStruct(kind.struct, value, path);
  }
}

function decodeStruct(schema: StructSchema, value: unknown, path: string): JsonObject {
  if (!isPlainObject(value)) throw decodeFailure(path, 'an object', value);
  const { exact, folded } = fieldIndex(schema);
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const entry = exact.get(key) ?? folded.get(key.toLowerCase());
    if (!entry) continue;
    const v = value[key];
    // A JSON null leaves the field at its zero value in the reference: treat it as absent.
    if (v === null) continue;
    out[entry.name] = decodeValue(entry.kind, v, `${path}.${entry.name}`);
  }
  return out;
}

/** Validates one JSON body against the schema of `type`. Unknown keys are dropped. */
export function decodeBody(type: MessageType, body: Buffer): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BurrowError('BURROW_BAD_FRAME', `bad message: ${type} body is not valid JSON`);
  }
  if (!isPlainObject(parsed)) throw decodeFailure(type, 'a JSON object', parsed);
  return { type, body: decodeStruct(MESSAGE_SCHEMA[type], parsed, type) } as Message;
}

/**
 * Incremental v1 frame reader: accepts bytes in any chunking and yields whole
 * messages. The type byte and the length are validated as soon as they are
 * available, before any of the body is waited for. After an error the
 * decoder stays failed: the stream it reads is no longer in sync.
 */
export class MessageDecoder {
  private readonly maxBodyLength: number;
  private readonly queue = new ChunkQueue();
  private failure: BurrowError | undefined;

  constructor(opts?: { maxBodyLength?: number }) {
    const max = opts?.maxBodyLength ?? MAX_MESSAGE_BODY;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `maxBodyLength must be a non-negative integer, got ${max}`);
    }
    this.maxBodyLength = max;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  next(): Message | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.readFrame();
    } catch (err) {
      this.failure =
        err instanceof BurrowError ? err : new BurrowError('BURROW_BAD_FRAME', 'bad message', { cause: err });
      throw this.failure;
    }
  }

  /** Everything pushed that next() has not returned as a message; empties the decoder. */
  takeRemainder(): Buffer {
    return this.queue.takeAll();
  }

  private readFrame(): Message | undefined {
    const queue = this.queue;
    if (queue.length === 0) return undefined;
    const typeByte = queue.byteAt(0);
    const type = messageTypeFromByte(typeByte);
    if (type === undefined) {
      throw new BurrowError(
        'BURROW_UNKNOWN_MESSAGE',
        `unknown message type byte 0x${typeByte.toString(16).padStart(2, '0')}`,
      );
    }
    if (queue.length < HEADER_LENGTH) return undefined;
    const header = queue.peek(HEADER_LENGTH);
    const high = header.readInt32BE(1);
    const low = header.readUInt32BE(5);
    if (high < 0) throw new BurrowError('BURROW_BAD_FRAME', `${type} frame has a negative body length`);
    if (high > 0 || low > this.maxBodyLength) {
      throw new BurrowError(
        'BURROW_FRAME_TOO_LARGE',
        `${type} body length ${high > 0 ? 'of 4 GiB or more' : low} exceeds the limit of ${this.maxBodyLength} bytes`,
      );
    }
    if (queue.length < HEADER_LENGTH + low) return undefined;
    queue.skip(HEADER_LENGTH);
    return decodeBody(type, queue.take(low));
  }
}

/**
 * Received chunks not yet consumed. Bytes are copied only when a read spans
 * chunks; the array is compacted lazily so 1-byte chunking stays linear.
 */
class ChunkQueue {
  private chunks: Buffer[] = [];
  /** index of the first live chunk */
  private first = 0;
  /** offset of the first unread byte in chunks[first] */
  private head = 0;
  length = 0;
  private readonly scratch = Buffer.alloc(HEADER_LENGTH);

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  byteAt(i: number): number {
    return this.peek(i + 1)[i];
  }

  /** The next `n` (<= HEADER_LENGTH, <= length) bytes without consuming them. */
  peek(n: number): Buffer {
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    let copied = 0;
    let offset = this.head;
    for (let i = this.first; copied < n; i++) {
      const chunk = this.chunks[i];
      copied += chunk.copy(this.scratch, copied, offset, Math.min(chunk.length, offset + n - copied));
      offset = 0;
    }
    return this.scratch;
  }

  /** Consumes and returns the next `n` (<= length) bytes; a view when they sit in one chunk. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.first];
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[this.first];
      const count = Math.min(chunk.length - this.head, n - copied);
      chunk.copy(out, copied, this.head, this.head + count);
      copied += count;
      this.skip(count);
    }
    return out;
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const available = this.chunks[this.first].length - this.head;
      if (n < available) {
        this.head += n;
        return;
      }
      n -= available;
      this.first += 1;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  takeAll(): Buffer {
    const live = this.chunks.length - this.first;
    let rest: Buffer;
    if (live === 0) rest = EMPTY;
    else if (live === 1) rest = this.chunks[this.first].subarray(this.head);
    else {
      const parts = this.chunks.slice(this.first);
      parts[0] = parts[0].subarray(this.head);
      rest = Buffer.concat(parts, this.length);
    }
    this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.length = 0;
    return rest;
  }
}
