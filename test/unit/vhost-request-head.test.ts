import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  basicAuth,
  canonicalHost,
  getHeader,
  headerTokens,
  isKeepAlive,
  RequestHeadParser,
  requestAuthority,
  requestHost,
  requestPath,
  requestRouteUser,
  type RequestHead,
} from '../../src/vhost/request-head.js';
import { isBurrowError, type BurrowErrorCode } from '../../src/util/errors.js';
import { prng, randomPieces } from '../helpers/random.js';

const HEAD =
  'POST /upload?x=1 HTTP/1.1\r\n' +
  'Host: App.Example.com:8080\r\n' +
  'X-Custom-Thing: a value with  spaces \r\n' +
  'content-length: 11\r\n' +
  'Connection: keep-alive\r\n' +
  '\r\n';
const BODY = 'hello world';

/** Pushes pieces until a head comes out; returns it with everything after it. */
function parseAll(pieces: Buffer[], opts?: ConstructorParameters<typeof RequestHeadParser>[0]): { head: RequestHead; rest: Buffer } {
  const parser = new RequestHeadParser(opts);
  let head: RequestHead | undefined;
  const rest: Buffer[] = [];
  for (const piece of pieces) {
    if (head !== undefined) {
      rest.push(piece);
      continue;
    }
    head = parser.push(piece);
    if (head !== undefined) rest.push(parser.takeRemainder());
  }
  assert.ok(head, 'the head completed');
  return { head, rest: Buffer.concat(rest) };
}

function parseError(text: string | Buffer, opts?: ConstructorParameters<typeof RequestHeadParser>[0]): BurrowErrorCode {
  const parser = new RequestHeadParser(opts);
  try {
    parser.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  } catch (err) {
    assert.ok(isBurrowError(err), `a BurrowError, got ${String(err)}`);
    return err.code;
  }
  assert.fail(`no error for ${JSON.stringify(text.toString().slice(0, 80))}`);
}

test('a request head is parsed with original header case and order; the body stays in the remainder', () => {
  const { head, rest } = parseAll([Buffer.from(HEAD + BODY)]);
  assert.equal(head.method, 'POST');
  assert.equal(head.target, '/upload?x=1');
  assert.equal(head.version, 'HTTP/1.1');
  assert.deepEqual(head.headers, [
    ['Host', 'App.Example.com:8080'],
    ['X-Custom-Thing', 'a value with  spaces'],
    ['content-length', '11'],
    ['Connection', 'keep-alive'],
  ]);
  assert.equal(head.raw.toString('latin1'), HEAD);
  assert.equal(rest.toString(), BODY);
});

test('chaotic chunking: any split of the bytes gives the same head and remainder', () => {
  const data = Buffer.from(HEAD + BODY);
  const expected = parseAll([data]);
  const rand = prng(0x5eed);
  for (let round = 0; round < 300; round += 1) {
    const pieces = randomPieces(data, rand, 1 + rand(40));
    const got = parseAll(pieces);
    assert.deepEqual(got.head.headers, expected.head.headers);
    assert.equal(got.head.target, expected.head.target);
    assert.ok(got.head.raw.equals(expected.head.raw), `raw differs in round ${round}`);
    assert.ok(got.rest.equals(expected.rest), `remainder differs in round ${round}`);
  }
  const oneByOne = parseAll([...data].map((b) => Buffer.from([b])));
  assert.ok(oneByOne.head.raw.equals(expected.head.raw));
  assert.equal(oneByOne.rest.toString(), BODY);
});

test('empty lines before the request line are skipped and not part of raw; bare LF line ends are accepted', () => {
  const { head } = parseAll([Buffer.from('\r\n\nGET / HTTP/1.1\nHost: a\n\n')]);
  assert.equal(head.raw.toString(), 'GET / HTTP/1.1\nHost: a\n\n');
  assert.deepEqual(head.headers, [['Host', 'a']]);
});

test('a head of exactly the limit passes; one byte more is 431 (BURROW_HTTP_HEAD_TOO_LARGE)', () => {
  const build = (size: number): Buffer => {
    const start = 'GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ';
    const end = '\r\n\r\n';
    return Buffer.from(start + 'p'.repeat(size - start.length - end.length) + end);
  };
  const exact = build(16_384);
  assert.equal(exact.length, 16_384);
  assert.equal(parseAll([exact]).head.raw.length, 16_384);
  assert.equal(parseAll(randomPieces(exact, prng(7), 700)).head.raw.length, 16_384);
  assert.equal(parseError(build(16_385)), 'BURROW_HTTP_HEAD_TOO_LARGE');

  // Fed in pieces, the error comes as soon as the budget is spent, whatever else is pending.
  const parser = new RequestHeadParser();
  const pieces = randomPieces(Buffer.concat([build(16_385), Buffer.alloc(50_000, 0x61)]), prng(8), 3000);
  let pushed = 0;
  assert.throws(
    () => {
      for (const piece of pieces) {
        parser.push(piece);
        pushed += piece.length;
      }
    },
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_HEAD_TOO_LARGE'),
  );
  assert.ok(pushed < 16_384, `failed once the limit was reached (${pushed} bytes accepted before)`);
  // It stays failed.
  assert.throws(
    () => parser.push(Buffer.from('\r\n\r\n')),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_HEAD_TOO_LARGE'),
  );
  // A configured limit applies the same way.
  assert.equal(parseError('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', { maxHeadBytes: 20 }), 'BURROW_HTTP_HEAD_TOO_LARGE');
});

test('100 header fields pass, 101 are refused as too large', () => {
  const headers = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
  const ok = parseAll([Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\n${headers(99)}\r\n`)]);
  assert.equal(ok.head.headers.length, 100);
  assert.equal(parseError(`GET / HTTP/1.1\r\nHost: a\r\n${headers(100)}\r\n`), 'BURROW_HTTP_HEAD_TOO_LARGE');
});

test('malformed heads are 400 (BURROW_HTTP_BAD_REQUEST)', () => {
  const cases: Array<[string, string]> = [
    ['no version', 'GET /\r\n\r\n'],
    ['double space', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['space in target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['HTTP/2 version', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'],
    ['h2c prior knowledge', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['bad method', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['relative target', 'GET index.html HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['* without OPTIONS', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['CONNECT with a path', 'CONNECT /x HTTP/1.1\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nHost: a\r\nJustAName\r\n\r\n'],
    ['empty name', 'GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n'],
    ['bare CR', 'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n'],
    ['control char in value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n'],
    ['missing Host in 1.1', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['invalid Host', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n'],
    ['bad percent-encoding', 'GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['CL and TE (smuggling)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['TE and CL (smuggling)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n'],
    ['CL not digits', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n'],
    ['CL signed', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n'],
    ['CL list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n'],
    ['CL empty', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n'],
    ['CL conflicting', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'],
    ['CL too large', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    ['TE not chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'],
    ['TE chunked not last', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['TE chunked twice', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['TE empty', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n'],
    ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ];
  for (const [name, text] of cases) {
    assert.equal(parseError(text), 'BURROW_HTTP_BAD_REQUEST', name);
    // Byte by byte, the same verdict.
    const parser = new RequestHeadParser();
    assert.throws(
      () => {
        for (const b of Buffer.from(text, 'latin1')) parser.push(Buffer.from([b]));
      },
      (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
      name,
    );
  }
});

test('accepted edge cases: repeated identical Content-Length, HTTP/1.0 without Host, OPTIONS *, absolute-form, CONNECT', () => {
  const ok = (text: string): RequestHead => parseAll([Buffer.from(text, 'latin1')]).head;
  assert.equal(ok('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n').method, 'POST');
  assert.equal(ok('GET / HTTP/1.0\r\n\r\n').version, 'HTTP/1.0');
  assert.equal(ok('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n').target, '*');
  assert.equal(ok('GET http://a.example.com/x HTTP/1.1\r\nHost: b\r\n\r\n').target, 'http://a.example.com/x');
  assert.equal(ok('CONNECT a.example.com:443 HTTP/1.1\r\n\r\n').target, 'a.example.com:443');
  assert.equal(ok('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n').method, 'POST');
  assert.equal(getHeader(ok('GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n').headers, 'x'), 'caf\xe9');
});

test('routing facts: host, path, authority, route user', () => {
  const head = (text: string): RequestHead => parseAll([Buffer.from(text, 'latin1')]).head;
  const basic = (user: string, pwd: string): string => 'Basic ' + Buffer.from(`${user}:${pwd}`).toString('base64');

  const plain = head(`GET /a%20b/c?q=%2F HTTP/1.1\r\nhost: Web.Example.COM.:8080\r\nAuthorization: ${basic('alice', 'p:w')}\r\n\r\n`);
  assert.equal(getHeader(plain.headers, 'HOST'), 'Web.Example.COM.:8080');
  assert.equal(requestHost(plain), 'web.example.com');
  assert.equal(requestAuthority(plain), 'Web.Example.COM.:8080');
  assert.equal(requestPath(plain), '/a b/c');
  assert.equal(requestRouteUser(plain), 'alice');
  assert.deepEqual(basicAuth(plain, 'authorization'), { user: 'alice', password: 'p:w' });
  assert.equal(basicAuth(plain, 'proxy-authorization'), undefined);

  // Proxy-style: the URL's host wins over Host, and Proxy-Authorization names the user.
  const proxyStyle = head(
    `GET http://user@Proxy.Example.com:81/p/q?x HTTP/1.1\r\nHost: other\r\nProxy-Authorization: ${basic('bob', 'x')}\r\nAuthorization: ${basic('carol', 'y')}\r\n\r\n`,
  );
  assert.equal(requestHost(proxyStyle), 'proxy.example.com');
  assert.equal(requestPath(proxyStyle), '/p/q');
  assert.equal(requestRouteUser(proxyStyle), 'bob');
  assert.equal(requestPath(head('GET http://a.example.com HTTP/1.1\r\nHost: a\r\n\r\n')), '');
  // ... falling back to Authorization.
  assert.equal(requestRouteUser(head(`GET http://a/ HTTP/1.1\r\nHost: a\r\nAuthorization: ${basic('carol', 'y')}\r\n\r\n`)), 'carol');
  // ... but only when Proxy-Authorization is absent: one that names no user (not Basic) names none, as frps.
  assert.equal(
    requestRouteUser(head(`GET http://a/ HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Bearer t\r\nAuthorization: ${basic('carol', 'y')}\r\n\r\n`)),
    '',
  );
  // Proxy-Authorization alone does not name the user of an ordinary request.
  assert.equal(requestRouteUser(head(`GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: ${basic('bob', 'x')}\r\n\r\n`)), '');

  assert.equal(requestHost(head('GET / HTTP/1.0\r\n\r\n')), '');
  assert.equal(requestPath(head('CONNECT a:1 HTTP/1.1\r\n\r\n')), '');
  assert.equal(requestPath(head('GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n')), '/café');

  assert.equal(canonicalHost('[::1]:8080'), '::1');
  assert.equal(canonicalHost('::1'), '::1');
  assert.equal(canonicalHost('EXAMPLE.com'), 'example.com');
  assert.equal(canonicalHost('example.com..'), 'example.com.');
});

test('Basic credentials: scheme case-insensitive, strict base64, colon required', () => {
  const withAuth = (value: string): RequestHead => parseAll([Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nAuthorization: ${value}\r\n\r\n`)]).head;
  assert.deepEqual(basicAuth(withAuth('basic ' + Buffer.from('u:').toString('base64')), 'authorization'), { user: 'u', password: '' });
  assert.equal(basicAuth(withAuth('Basic !!!!'), 'authorization'), undefined);
  assert.equal(basicAuth(withAuth('Basic ' + Buffer.from('nocolon').toString('base64')), 'authorization'), undefined);
  assert.equal(basicAuth(withAuth('Bearer abc'), 'authorization'), undefined);
});

test('pushing after the head completes only adds to the remainder', () => {
  const parser = new RequestHeadParser();
  const head = parser.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nAB'));
  assert.ok(head);
  assert.equal(parser.push(Buffer.from('CD')), undefined);
  assert.equal(parser.takeRemainder().toString(), 'ABCD');
  assert.equal(parser.takeRemainder().length, 0);
});

test('keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive', () => {
  const keep = (text: string): boolean => {
    const head = parseAll([Buffer.from(text)]).head;
    return isKeepAlive(head.version, head.headers);
  };
  assert.equal(keep('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), true);
  assert.equal(keep('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n'), false);
  assert.equal(keep('GET / HTTP/1.0\r\n\r\n'), false);
  assert.equal(keep('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'), true);
  assert.deepEqual(
    headerTokens(parseAll([Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: a, ,B\r\nconnection: c\r\n\r\n')]).head.headers, 'connection'),
    ['a', 'b', 'c'],
  );
});
