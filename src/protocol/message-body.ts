import { BurrowError } from '../util/errors.js';
import { MESSAGE_SCHEMA, type FieldKind, type Message, type MessageType, type StructSchema } from './messages.js';

// The JSON body of a v1 message, checked against its schema both ways:
// written byte for byte as the reference encoder writes it, read as leniently
// as the reference reads it (case-folded keys, nulls as zero values). The
// frame around it: codec.ts.

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
  return decodeBodyValue(type, parsed);
}

/** Validates an already parsed JSON value as the body of `type` (say, a server plugin's content). Unknown keys are dropped. */
export function decodeBodyValue(type: MessageType, parsed: unknown): Message {
  if (!isPlainObject(parsed)) throw decodeFailure(type, 'a JSON object', parsed);
  return { type, body: decodeStruct(MESSAGE_SCHEMA[type], parsed, type) } as Message;
}
