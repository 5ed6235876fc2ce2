/** Properties of the HTTP/TLS peeking parsers the vhost router runs on a visitor's first bytes. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BodyFramer, type BodyKind } from '../../src/vhost/body-framer.js';
import { ConnectRequestParser } from '../../src/vhost/connect-request.js';
import { RequestHeadParser } from '../../src/vhost/request-head.js';
import { ResponseHeadParser } from '../../src/vhost/response-head.js';
import { ClientHelloReader } from '../../src/vhost/sni.js';
import { BurrowError } from '../../src/util/errors.js';
import { bytes, chunked, cuts, mutated, onlyBurrowErrors, target, textWith, type FuzzTarget } from './harness.js';
import { u16 } from '../helpers/bytes.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

const HTTP_PIECES = [
  'GET ',
  'POST ',
  'CONNECT ',
  'OPTIONS ',
  'PRI ',
  ' HTTP/1.1',
  ' HTTP/1.0',
  ' HTTP/2.0',
  'HTTP/1.1 ',
  '200 ',
  '101 ',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  ':',
  ': ',
  'Host: a.test',
  'host:',
  'Content-Length: 5',
  'Content-Length: -1',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Connection: upgrade',
  'Upgrade: websocket',
  ' ',
  '\t',
  '\0',
  '\x7f',
  '\xff',
  '/',
  '*',
  '?',
  '#',
  '%',
  '%zz',
  '%41',
  'http://',
  'a.test:80',
  '[::1]',
  '@',
];

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/);
const headerValue = fc.stringMatching(/^[ -~\t]{0,20}$/);
const headers = fc.array(fc.tuple(token, headerValue), { maxLength: 6 });

const validRequest = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'CONNECT', 'DELETE'),
    target: fc.oneof(
      fc.webPath().map((p) => `/${p.replace(/^\//, '')}`),
      fc.constant('*'),
      fc.webUrl(),
      fc.constant('a.test:443'),
    ),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    host: fc.option(fc.domain(), { nil: undefined }),
    headers,
    tail: bytes(20),
  })
  .map((r) => {
    const lines = [`${r.method} ${r.target} ${r.version}`, ...(r.host ? [`Host: ${r.host}`] : []), ...r.headers.map(([n, v]) => `${n}: ${v}`)];
    return Buffer.concat([latin1(`${lines.join('\r\n')}\r\n\r\n`), r.tail]);
  });

const validResponse = fc
  .record({ status: fc.integer({ min: 100, max: 999 }), reason: fc.stringMatching(/^[ -~]{0,12}$/), headers, tail: bytes(20) })
  .map((r) => Buffer.concat([latin1([`HTTP/1.1 ${r.status} ${r.reason}`, ...r.headers.map(([n, v]) => `${n}: ${v}`)].join('\r\n') + '\r\n\r\n'), r.tail]));

const httpText = textWith(HTTP_PIECES, 300).map(latin1);

interface HeadParser<T> {
  push(chunk: Buffer): T | undefined;
  takeRemainder(): Buffer;
}

/** The head (as JSON), the bytes after it, or the error code; and whether the bound held while waiting. */
function parseHead<T extends { raw: Buffer }>(
  make: () => HeadParser<T>,
  pieces: Buffer[],
  maxHeadBytes: number,
): { head?: string; rest?: string; error?: string } {
  const parser = make();
  let pushed = 0;
  let head: T | undefined;
  for (const p of pieces) {
    const r = onlyBurrowErrors(() => parser.push(p));
    pushed += p.length;
    if (r instanceof BurrowError) return { error: r.code };
    head ??= r;
    if (head === undefined) assert.ok(pushed < maxHeadBytes, `waiting after ${pushed} bytes, bound ${maxHeadBytes}`);
  }
  if (head === undefined) return {};
  assert.ok(head.raw.length <= maxHeadBytes);
  const { raw, ...fields } = head;
  return { head: JSON.stringify({ ...fields, raw: raw.toString('hex') }), rest: parser.takeRemainder().toString('hex') };
}

/** A chunked body: the chunks, with extensions and trailers sometimes, in upper or lower case hex. */
const chunkedBody = fc
  .record({
    chunks: fc.array(
      bytes(40).filter((b) => b.length > 0),
      { maxLength: 4 },
    ),
    upper: fc.boolean(),
    ext: fc.constantFrom('', ';a=b', ' ;x', '\t'),
    trailers: fc.array(fc.tuple(token, headerValue), { maxLength: 2 }),
    next: bytes(10),
  })
  .map((r) => {
    const hex = (n: number): string => (r.upper ? n.toString(16).toUpperCase() : n.toString(16));
    const parts: Buffer[] = r.chunks.flatMap((c) => [latin1(`${hex(c.length)}${r.ext}\r\n`), c, latin1('\r\n')]);
    parts.push(latin1(`0\r\n${r.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`));
    const body = Buffer.concat(parts);
    return { body, content: Buffer.concat(r.chunks), wire: Buffer.concat([body, r.next]) };
  });

const bodyKind: fc.Arbitrary<BodyKind> = fc.oneof(
  fc.integer({ min: 0, max: 200 }).map((length) => ({ type: 'length' as const, length })),
  fc.bigInt({ min: -5n, max: 2n ** 64n }).map((length) => ({ type: 'length' as const, length })),
  fc.constant({ type: 'chunked' as const }),
  fc.constant({ type: 'none' as const }),
  fc.constant({ type: 'until-close' as const }),
);

function frameBody(
  kind: BodyKind,
  pieces: Buffer[],
  opts: { maxChunkLineBytes?: number; maxTrailerBytes?: number } = {},
): { consumed: number; content: string; done: boolean; error?: string } {
  const content: Buffer[] = [];
  const framer = onlyBurrowErrors(() => new BodyFramer(kind, { ...opts, onContent: (c, s, e) => void content.push(Buffer.from(c.subarray(s, e))) }));
  if (framer instanceof BurrowError) return { consumed: 0, content: '', done: false, error: framer.code };
  let consumed = 0;
  for (const p of pieces) {
    const n = onlyBurrowErrors(() => framer.consume(p));
    if (n instanceof BurrowError) return { consumed, content: Buffer.concat(content).toString('hex'), done: framer.done, error: n.code };
    assert.ok(n >= 0 && n <= p.length);
    consumed += n;
    if (n < p.length) break;
  }
  return { consumed, content: Buffer.concat(content).toString('hex'), done: framer.done };
}

function withLength16(b: Buffer): Buffer {
  return Buffer.concat([u16(b.length), b]);
}

/** A ClientHello carrying `name` in server_name, cut into TLS records of the given sizes. */
function clientHello(name: Buffer, recordSizes: number[]): Buffer {
  const sni = withLength16(Buffer.concat([Buffer.from([0]), withLength16(name)]));
  const extensions = Buffer.concat([u16(0x000a), withLength16(Buffer.from([0, 2, 0, 0x1d])), u16(0x0000), withLength16(sni)]);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    withLength16(Buffer.from([0x13, 0x01])),
    Buffer.from([1, 0]),
    withLength16(extensions),
  ]);
  const hs = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  const records: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < hs.length; i++) {
    const size = Math.min(hs.length - at, Math.max(1, recordSizes[i % Math.max(1, recordSizes.length)] ?? hs.length));
    records.push(Buffer.from([0x16, 3, 1]), u16(size), hs.subarray(at, at + size));
    at += size;
  }
  return Buffer.concat(records);
}

const sniName = fc.oneof(fc.domain(), fc.stringMatching(/^[!-~]{1,30}$/));
const helloArb = fc.tuple(sniName, fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 4 })).map(([n, sizes]) => clientHello(latin1(n), sizes));

function readHello(pieces: Buffer[], maxHelloBytes?: number): { name?: string | null; error?: string; buffered: string } {
  const reader = new ClientHelloReader(maxHelloBytes === undefined ? {} : { maxHelloBytes });
  let out: { name?: string | null; error?: string } = {};
  for (const p of pieces) {
    const r = onlyBurrowErrors(() => reader.push(p));
    if (r instanceof BurrowError) {
      out = { error: r.code };
      break;
    }
    if (r !== undefined && out.name === undefined) out = { name: r.serverName ?? null };
  }
  return { ...out, buffered: out.error ? '' : reader.buffered().toString('hex') };
}

export const vhostTargets: FuzzTarget[] = [
  target('vhost/request-head: garbage raises only BurrowError, within the head bound, the same for any chunking', () =>
    fc.property(
      fc.oneof(bytes(300), httpText, validRequest, mutated(validRequest)),
      cuts(),
      fc.integer({ min: 16, max: 400 }),
      (input, cutPoints, maxHeadBytes) => {
        const make = (): RequestHeadParser => new RequestHeadParser({ maxHeadBytes, maxHeaders: 8 });
        const whole = parseHead(make, [input], maxHeadBytes);
        assert.deepEqual(parseHead(make, chunked(input, cutPoints), maxHeadBytes), whole);
      },
    ),
  ),
  target('vhost/request-head: a well-formed request head parses to its parts', () =>
    fc.property(fc.constantFrom('GET', 'POST', 'DELETE'), fc.webPath(), fc.domain(), headers, bytes(20), (method, path, host, extra, tail) => {
      const target = `/${path.replace(/^\//, '')}`;
      const text = [
        `${method} ${target} HTTP/1.1`,
        `Host: ${host}`,
        ...extra.filter(([n]) => n.toLowerCase() !== 'host' && !/^(content-length|transfer-encoding)$/i.test(n)).map(([n, v]) => `${n}: ${v}`),
      ].join('\r\n');
      const parser = new RequestHeadParser();
      const head = onlyBurrowErrors(() => parser.push(Buffer.concat([latin1(text + '\r\n\r\n'), tail])));
      if (head instanceof BurrowError) {
        // Only a path with a bad percent escape is refused here.
        assert.match(head.message, /percent-encoding/);
        return;
      }
      assert.ok(head);
      assert.deepEqual([head.method, head.target, head.version, head.headers[0]], [method, target, 'HTTP/1.1', ['Host', host]]);
      assert.ok(parser.takeRemainder().equals(tail));
    }),
  ),
  target('vhost/response-head: garbage raises only BurrowError, within the head bound, the same for any chunking', () =>
    fc.property(
      fc.oneof(bytes(300), httpText, validResponse, mutated(validResponse)),
      cuts(),
      fc.integer({ min: 16, max: 400 }),
      (input, cutPoints, maxHeadBytes) => {
        const make = (): ResponseHeadParser => new ResponseHeadParser({ maxHeadBytes, maxHeaders: 8 });
        const whole = parseHead(make, [input], maxHeadBytes);
        assert.deepEqual(parseHead(make, chunked(input, cutPoints), maxHeadBytes), whole);
      },
    ),
  ),
  target('vhost/connect-request: any CONNECT target raises only BurrowError; host:port round-trips', () =>
    fc.property(
      fc.oneof(
        textWith([':', '[', ']', '::1', '443', '65536', '0', 'a.test', '.', '%', '@', '/', 'A'], 40),
        fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
      ),
      fc.option(fc.base64String({ maxLength: 24 }), { nil: undefined }),
      cuts(),
      (authority, auth, cutPoints) => {
        const text = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth === undefined ? '' : `Proxy-Authorization: Basic ${auth}\r\n`}\r\ntunnel`;
        const run = (pieces: Buffer[]): unknown => {
          const parser = new ConnectRequestParser();
          let found: { host: string; port: number | undefined; user: string } | undefined;
          for (const p of pieces) {
            const r = onlyBurrowErrors(() => parser.push(p));
            if (r instanceof BurrowError) return r.code;
            if (r !== undefined) found = { host: r.host, port: r.port, user: r.user };
          }
          return found && { ...found, rest: parser.takeRemainder().toString('latin1') };
        };
        const input = latin1(text);
        const whole = run([input]);
        assert.deepEqual(run(chunked(input, cutPoints)), whole);
        const m = /^([a-z0-9.-]+):(\d+)$/i.exec(authority);
        if (m && typeof whole === 'object' && whole !== null) {
          assert.deepEqual({ ...(whole as object), user: '' }, { host: m[1]!.toLowerCase().replace(/\.$/, ''), port: Number(m[2]), user: '', rest: 'tunnel' });
        }
      },
    ),
  ),
  target('vhost/body-framer: any body bytes raise only BurrowError, the same for any chunking', () =>
    fc.property(
      bodyKind,
      fc.oneof(
        bytes(200),
        chunkedBody.map((c) => c.wire),
        mutated(chunkedBody.map((c) => c.wire)),
      ),
      cuts(),
      fc.integer({ min: 1, max: 64 }),
      (kind, input, cutPoints, maxLine) => {
        const opts = { maxChunkLineBytes: maxLine, maxTrailerBytes: 64 };
        const whole = frameBody(kind, [input], opts);
        const pieces = frameBody(kind, chunked(input, cutPoints), opts);
        // What was consumed before an error depends on where the input was cut; the error does not.
        if (whole.error !== undefined) assert.equal(pieces.error, whole.error);
        else assert.deepEqual(pieces, whole);
      },
    ),
  ),
  target('vhost/body-framer: a chunked body gives back its content and ends exactly where it ends', () =>
    fc.property(chunkedBody, cuts(), (c, cutPoints) => {
      const r = frameBody({ type: 'chunked' }, chunked(c.wire, cutPoints));
      assert.deepEqual(r, { consumed: c.body.length, content: c.content.toString('hex'), done: true });
    }),
  ),
  target('vhost/body-framer: chunk-size lines and trailers past their bounds are refused', () =>
    fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200 }), fc.boolean(), (max, over, inTrailer) => {
      const input = inTrailer ? latin1(`0\r\nX-A: ${'a'.repeat(max + over)}\r\n\r\n`) : latin1(`1;${'e'.repeat(max + over)}\r\nx\r\n0\r\n\r\n`);
      const r = frameBody({ type: 'chunked' }, [input], inTrailer ? { maxTrailerBytes: max } : { maxChunkLineBytes: max });
      assert.equal(r.error, 'BURROW_HTTP_BAD_REQUEST');
    }),
  ),
  target('vhost/sni: garbage raises only BurrowError, the same for any chunking; held bytes stay bounded', () =>
    fc.property(fc.oneof(bytes(300), mutated(helloArb), helloArb), cuts(), fc.integer({ min: 16, max: 600 }), (input, cutPoints, maxHelloBytes) => {
      const whole = readHello([input], maxHelloBytes);
      assert.deepEqual(readHello(chunked(input, cutPoints), maxHelloBytes), whole);
      if (whole.error === undefined && whole.name === undefined) assert.ok(input.length < maxHelloBytes + 64 * 5, 'still waiting past the bound');
    }),
  ),
  target('vhost/sni: the server name of a ClientHello in any records and chunks comes back lower-cased', () =>
    fc.property(fc.domain(), fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 4 }), cuts(), (name, sizes, cutPoints) => {
      const hello = clientHello(latin1(name.toUpperCase() + '.'), sizes);
      const r = readHello(chunked(hello, cutPoints));
      assert.deepEqual(r, { name: name.toLowerCase(), buffered: hello.toString('hex') });
    }),
  ),
];
