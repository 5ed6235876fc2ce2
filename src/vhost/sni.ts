/**
 * Reads the server name (SNI) out of a TLS ClientHello without terminating
 * TLS, for https vhost routing. Bytes arrive in any split; the ClientHello
 * may span several TLS records. Everything pushed is kept so the caller can
 * forward the untouched stream, ClientHello included, to the backend.
 *
 * Bounded: the handshake message may not exceed `maxHelloBytes` (16 KiB by
 * default) and the bytes held may not exceed that plus room for record
 * headers. Anything that is not a well-formed ClientHello raises
 * BURROW_TLS_BAD_CLIENT_HELLO.
 */
import { BurrowError } from '../util/errors.js';
import { checkLimit } from './head-scanner.js';

export interface ClientHelloInfo {
  /** The host_name entry, lower-cased, one trailing dot removed; undefined when the client sent none. */
  serverName: string | undefined;
  /** The protocols of the ALPN extension, in the client's order; empty without one. */
  alpnProtocols: string[];
}

export interface ClientHelloReaderOptions {
  /** Bound on the ClientHello handshake message (header included). */
  maxHelloBytes?: number;
}

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const MAX_RECORD_FRAGMENT = 16_384;
const EXTENSION_SERVER_NAME = 0x0000;
const EXTENSION_ALPN = 0x0010;
const NAME_TYPE_HOST = 0x00;
const DEFAULT_MAX_HELLO_BYTES = 16_384;
/** Records may be tiny; allow header overhead for a generous number of them. */
const RECORD_OVERHEAD_ALLOWANCE = 64 * RECORD_HEADER;

function bad(message: string): BurrowError {
  return new BurrowError('BURROW_TLS_BAD_CLIENT_HELLO', `not a valid TLS ClientHello: ${message}`);
}

export class ClientHelloReader {
  private readonly maxHelloBytes: number;
  private readonly maxRawBytes: number;
  /** The first bytes, up to maxRawBytes, where the records are read. */
  private storage: Buffer = Buffer.alloc(0);
  private used = 0;
  /** Bytes past the storage (after the hello, or beyond the bound), kept only for buffered(). */
  private readonly overflow: Buffer[] = [];
  /** Where the next record header starts in storage. */
  private recordStart = 0;
  /** Handshake bytes gathered from record fragments so far. */
  private handshake: Buffer = Buffer.alloc(0);
  private handshakeBytes = 0;
  private result: ClientHelloInfo | undefined;

  constructor(opts: ClientHelloReaderOptions = {}) {
    this.maxHelloBytes = checkLimit(opts.maxHelloBytes, DEFAULT_MAX_HELLO_BYTES, 'maxHelloBytes');
    this.maxRawBytes = this.maxHelloBytes + RECORD_OVERHEAD_ALLOWANCE;
  }

  /**
   * Feeds bytes; returns the result once the whole ClientHello has arrived.
   * After that, further pushes are only kept for buffered().
   */
  push(chunk: Buffer): ClientHelloInfo | undefined {
    if (chunk.length === 0) return undefined;
    if (this.result !== undefined || this.used >= this.maxRawBytes) {
      this.overflow.push(chunk);
      return undefined;
    }
    const take = Math.min(chunk.length, this.maxRawBytes - this.used);
    this.reserve(this.used + take);
    chunk.copy(this.storage, this.used, 0, take);
    this.used += take;
    if (take < chunk.length) this.overflow.push(chunk.subarray(take));
    this.readRecords(this.storage.subarray(0, this.used));
    if (this.result === undefined && this.used >= this.maxRawBytes) throw bad(`no complete ClientHello within ${this.maxRawBytes} bytes`);
    return this.result;
  }

  /** Every byte pushed so far, to be forwarded as the start of the stream. */
  buffered(): Buffer {
    return Buffer.concat([this.storage.subarray(0, this.used), ...this.overflow]);
  }

  private reserve(size: number): void {
    if (this.storage.length >= size) return;
    const grown = Buffer.allocUnsafe(Math.min(this.maxRawBytes, Math.max(size, this.storage.length * 2, 2048)));
    this.storage.copy(grown, 0, 0, this.used);
    this.storage = grown;
  }

  private readRecords(all: Buffer): void {
    while (this.result === undefined && all.length - this.recordStart >= RECORD_HEADER) {
      const at = this.recordStart;
      if (all[at] !== CONTENT_HANDSHAKE) throw bad(`record type ${all[at] ?? 0} is not a handshake`);
      if (all[at + 1] !== 3) throw bad('unsupported record version');
      const length = all.readUInt16BE(at + 3);
      if (length === 0 || length > MAX_RECORD_FRAGMENT) throw bad(`record length ${length} out of range`);
      if (all.length - at - RECORD_HEADER < length) return;
      this.addHandshake(all.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
      this.recordStart = at + RECORD_HEADER + length;
      this.tryParse();
    }
  }

  private addHandshake(fragment: Buffer): void {
    const total = this.handshakeBytes + fragment.length;
    if (total > this.maxHelloBytes + MAX_RECORD_FRAGMENT) throw bad(`ClientHello larger than ${this.maxHelloBytes} bytes`);
    if (this.handshake.length < total) {
      const grown = Buffer.allocUnsafe(Math.max(total, this.handshake.length * 2));
      this.handshake.copy(grown, 0, 0, this.handshakeBytes);
      this.handshake = grown;
    }
    fragment.copy(this.handshake, this.handshakeBytes);
    this.handshakeBytes = total;
  }

  private tryParse(): void {
    if (this.handshakeBytes < HANDSHAKE_HEADER) return;
    const hs = this.handshake;
    if (hs[0] !== HANDSHAKE_CLIENT_HELLO) throw bad(`first handshake message is type ${hs[0] ?? 0}, not ClientHello`);
    const length = hs.readUIntBE(1, 3);
    if (length + HANDSHAKE_HEADER > this.maxHelloBytes) throw bad(`ClientHello of ${length} bytes exceeds the ${this.maxHelloBytes}-byte limit`);
    if (this.handshakeBytes < HANDSHAKE_HEADER + length) return;
    this.result = parseClientHelloBody(hs.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + length));
  }
}

/** A bounds-checked cursor: every read past the end is a malformed hello. */
class Cursor {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  skip(n: number, what: string): void {
    if (n > this.remaining) throw bad(`truncated ${what}`);
    this.pos += n;
  }

  u8(what: string): number {
    if (this.remaining < 1) throw bad(`truncated ${what}`);
    return this.buf[this.pos++] as number;
  }

  u16(what: string): number {
    if (this.remaining < 2) throw bad(`truncated ${what}`);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** A sub-cursor over the next `n` bytes, which this cursor skips. */
  sub(n: number, what: string): Cursor {
    if (n > this.remaining) throw bad(`truncated ${what}`);
    const c = new Cursor(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return c;
  }
}

function parseClientHelloBody(body: Buffer): ClientHelloInfo {
  const c = new Cursor(body);
  c.skip(2, 'client version');
  c.skip(32, 'random');
  const sessionIdLength = c.u8('session id');
  if (sessionIdLength > 32) throw bad('session id longer than 32 bytes');
  c.skip(sessionIdLength, 'session id');
  const suitesLength = c.u16('cipher suites');
  if (suitesLength < 2 || suitesLength % 2 !== 0) throw bad('invalid cipher suites length');
  c.skip(suitesLength, 'cipher suites');
  const compressionLength = c.u8('compression methods');
  if (compressionLength < 1) throw bad('no compression methods');
  c.skip(compressionLength, 'compression methods');
  if (c.remaining === 0) return { serverName: undefined, alpnProtocols: [] };
  const extensions = c.sub(c.u16('extensions length'), 'extensions');
  if (c.remaining !== 0) throw bad('bytes after the extensions');
  let serverName: string | undefined;
  let sawServerName = false;
  let alpnProtocols: string[] | undefined;
  while (extensions.remaining > 0) {
    const type = extensions.u16('extension type');
    const data = extensions.sub(extensions.u16('extension length'), 'extension');
    if (type === EXTENSION_ALPN) {
      if (alpnProtocols) throw bad('two ALPN extensions');
      alpnProtocols = parseAlpn(data);
      continue;
    }
    if (type !== EXTENSION_SERVER_NAME) continue;
    if (sawServerName) throw bad('two server_name extensions');
    sawServerName = true;
    serverName = parseServerName(data);
  }
  return { serverName, alpnProtocols: alpnProtocols ?? [] };
}

/** The ALPN protocol names (RFC 7301): read to tell an ACME TLS-ALPN-01 check (`acme-tls/1`) from a visitor. */
function parseAlpn(data: Cursor): string[] {
  const list = data.sub(data.u16('ALPN list'), 'ALPN list');
  if (data.remaining !== 0) throw bad('bytes after the ALPN list');
  const names: string[] = [];
  while (list.remaining > 0) {
    const name = list.sub(list.u8('ALPN protocol length'), 'ALPN protocol');
    const bytes: number[] = [];
    while (name.remaining > 0) bytes.push(name.u8('ALPN protocol'));
    names.push(Buffer.from(bytes).toString('latin1'));
  }
  return names;
}

function parseServerName(data: Cursor): string | undefined {
  // An empty server_name extension is what a server echoes; from a client it carries no name.
  if (data.remaining === 0) return undefined;
  const list = data.sub(data.u16('server name list'), 'server name list');
  if (data.remaining !== 0) throw bad('bytes after the server name list');
  let hostName: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.u8('server name type');
    const name = list.sub(list.u16('server name length'), 'server name');
    if (nameType !== NAME_TYPE_HOST) continue;
    if (hostName !== undefined) throw bad('two host_name entries');
    hostName = decodeHostName(name);
  }
  return hostName;
}

function decodeHostName(name: Cursor): string {
  const bytes: number[] = [];
  while (name.remaining > 0) bytes.push(name.u8('server name'));
  if (bytes.length === 0) throw bad('empty host_name');
  // SNI names are ASCII (IDNs travel as A-labels): printable, no spaces.
  if (bytes.some((b) => b <= 0x20 || b >= 0x7f)) throw bad('host_name contains non-printable or non-ASCII bytes');
  let host = Buffer.from(bytes).toString('latin1').toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') throw bad('host_name is only a dot');
  return host;
}
