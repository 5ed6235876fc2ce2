import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyFramer, requestBodyKind, responseBodyKind, type BodyKind } from '../../src/vhost/body-framer.js';
import { RequestHeadParser, requestPath, type RequestHead } from '../../src/vhost/request-head.js';
import { isInterimResponse, ResponseHeadParser, switchesToTunnel, type ResponseHead } from '../../src/vhost/response-head.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng, randomPieces } from '../helpers/random.js';

/** Feeds pieces to a framer; returns how many bytes belonged to the body and whether it finished. */
function frame(kind: BodyKind, pieces: Buffer[]): { bodyBytes: number; done: boolean } {
  const framer = new BodyFramer(kind);
  let bodyBytes = 0;
  for (const piece of pieces) {
    const n = framer.consume(piece);
    bodyBytes += n;
    if (n < piece.length) {
      assert.ok(framer.done, 'a short count means the body ended');
      break;
    }
  }
  return { bodyBytes, done: framer.done };
}

const CHUNKED_BODY =
  '5\r\nhello\r\n' +
  '6;name=value;flag\r\n world\r\n' +
  '00A \t; ext="quoted;\\"x"\r\n0123456789\r\n' +
  '0\r\n' +
  'X-Checksum: abc\r\n' +
  'X-Other: 1\r\n' +
  '\r\n';

test('chunked: extensions and trailers are followed to the exact end, in any split', () => {
  const after = 'GET /next HTTP/1.1\r\n';
  const data = Buffer.from(CHUNKED_BODY + after);
  assert.deepEqual(frame({ type: 'chunked' }, [data]), { bodyBytes: CHUNKED_BODY.length, done: true });
  const rand = prng(42);
  for (let round = 0; round < 400; round += 1) {
    assert.deepEqual(frame({ type: 'chunked' }, randomPieces(data, rand, 1 + rand(30))), { bodyBytes: CHUNKED_BODY.length, done: true }, `round ${round}`);
  }
  assert.deepEqual(
    frame(
      { type: 'chunked' },
      [...data].map((b) => Buffer.from([b])),
    ),
    { bodyBytes: CHUNKED_BODY.length, done: true },
  );
  // Stopping one byte short leaves it unfinished.
  assert.deepEqual(frame({ type: 'chunked' }, [Buffer.from(CHUNKED_BODY.slice(0, -1))]), { bodyBytes: CHUNKED_BODY.length - 1, done: false });
});

test('chunked: large chunks are skipped without inspecting their bytes', () => {
  const payload = Buffer.alloc(1_000_000, 0x0d); // CR bytes would confuse a scanner that looked inside
  const body = Buffer.concat([Buffer.from(payload.length.toString(16) + '\r\n'), payload, Buffer.from('\r\n0\r\n\r\n')]);
  assert.deepEqual(frame({ type: 'chunked' }, randomPieces(body, prng(3), 70_000)), { bodyBytes: body.length, done: true });
});

test('content-length: counts across chunks and stops at the boundary', () => {
  const data = Buffer.from('0123456789NEXT');
  const rand = prng(9);
  for (let round = 0; round < 100; round += 1) {
    assert.deepEqual(frame({ type: 'length', length: 10 }, randomPieces(data, rand, 5)), { bodyBytes: 10, done: true });
  }
  assert.deepEqual(frame({ type: 'length', length: 10n }, [data]), { bodyBytes: 10, done: true });
  const framer = new BodyFramer({ type: 'length', length: 4 });
  assert.equal(framer.consume(Buffer.from('ab')), 2);
  assert.equal(framer.completeAtClose, false);
  assert.equal(framer.consume(Buffer.from('cdef')), 2);
  assert.equal(framer.done, true);
  assert.equal(framer.consume(Buffer.from('g')), 0);
  assert.throws(
    () => new BodyFramer({ type: 'length', length: 2n ** 64n }),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
  );
});

test('none and until-close', () => {
  const none = new BodyFramer({ type: 'none' });
  assert.equal(none.done, true);
  assert.equal(none.consume(Buffer.from('GET')), 0);
  const untilClose = new BodyFramer({ type: 'until-close' });
  assert.equal(untilClose.consume(Buffer.from('anything')), 8);
  assert.equal(untilClose.done, false);
  assert.equal(untilClose.completeAtClose, true);
});

test('malformed chunked framing is refused: 400 for requests, 502 code for responses', () => {
  const cases: Array<[string, string]> = [
    ['no hex digit', 'x\r\n'],
    ['bad char after size', '5x\r\nhello\r\n'],
    ['size too large', 'fffffffffffffff\r\n'],
    ['LF without CR after size', '5\nhello\r\n'],
    ['data longer than size', '5\r\nhello!\r\n'],
    ['data not ended by CRLF', '5\r\nhello\rX'],
    ['control char in extension', '5;a\x01b\r\n'],
    ['bare LF in trailers', '0\r\nX: y\n\r\n'],
    ['bare CR in trailers', '0\r\nX: y\rz\r\n\r\n'],
    ['end of trailers not CRLF', '0\r\n\rX'],
  ];
  for (const [name, text] of cases) {
    assert.throws(
      () => new BodyFramer({ type: 'chunked' }).consume(Buffer.from(text, 'latin1')),
      (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
      name,
    );
    assert.throws(
      () => new BodyFramer({ type: 'chunked' }, { side: 'response' }).consume(Buffer.from(text, 'latin1')),
      (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_RESPONSE'),
      name,
    );
  }
  // Leading zeros do not count toward the size bound.
  assert.deepEqual(frame({ type: 'chunked' }, [Buffer.from('0000000000000000000001\r\nA\r\n0\r\n\r\n')]), { bodyBytes: 32, done: true });
});

test('a chunk-size line and a trailer section are bounded', () => {
  const longLine = Buffer.from('5;' + 'e'.repeat(5000) + '\r\n');
  const framer = new BodyFramer({ type: 'chunked' });
  assert.throws(
    () => {
      for (const piece of randomPieces(longLine, prng(1), 100)) framer.consume(piece);
    },
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST') && /longer than 4096/.test(err.message),
  );
  const small = new BodyFramer({ type: 'chunked' }, { maxChunkLineBytes: 8, maxTrailerBytes: 10 });
  assert.equal(small.consume(Buffer.from('1;abcd\r\nA\r\n')), 11);
  assert.throws(
    () => small.consume(Buffer.from('1;abcdefgh\r\n')),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
  );
  const trailers = new BodyFramer({ type: 'chunked' }, { maxTrailerBytes: 10 });
  assert.throws(
    () => trailers.consume(Buffer.from('0\r\nX-Long: 123456\r\n\r\n')),
    (err: unknown) => isBurrowError(err, /* 400 */ 'BURROW_HTTP_BAD_REQUEST'),
  );
});

function requestHead(text: string): RequestHead {
  const head = new RequestHeadParser().push(Buffer.from(text));
  assert.ok(head);
  return head;
}

function responseHead(text: string): ResponseHead {
  const head = new ResponseHeadParser().push(Buffer.from(text));
  assert.ok(head);
  return head;
}

test('request body kinds (RFC 9112 §6.3)', () => {
  assert.deepEqual(requestBodyKind(requestHead('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), { type: 'none' });
  assert.deepEqual(requestBodyKind(requestHead('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n')), { type: 'none' });
  assert.deepEqual(requestBodyKind(requestHead('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n')), { type: 'length', length: 7 });
  assert.deepEqual(requestBodyKind(requestHead('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')), { type: 'chunked' });
  assert.deepEqual(requestBodyKind(requestHead('CONNECT a:443 HTTP/1.1\r\nContent-Length: 10\r\n\r\n')), { type: 'none' });
});

test('response body kinds: HEAD, 1xx, 204, 304 have none; CL, chunked, until close; CONNECT tunnels', () => {
  const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n';
  assert.deepEqual(responseBodyKind('GET', responseHead(ok)), { type: 'length', length: 5 });
  assert.deepEqual(responseBodyKind('HEAD', responseHead(ok)), { type: 'none' });
  assert.deepEqual(responseBodyKind('GET', responseHead('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n')), { type: 'none' });
  assert.deepEqual(responseBodyKind('GET', responseHead('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n')), { type: 'none' });
  assert.deepEqual(responseBodyKind('GET', responseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n')), { type: 'chunked' });
  assert.deepEqual(responseBodyKind('GET', responseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n')), { type: 'until-close' });
  assert.deepEqual(responseBodyKind('GET', responseHead('HTTP/1.0 200 OK\r\n\r\n')), { type: 'until-close' });
  assert.deepEqual(responseBodyKind('CONNECT', responseHead('HTTP/1.1 200 Connection established\r\n\r\n')), { type: 'until-close' });
  assert.throws(
    () => responseBodyKind('GET', responseHead('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_RESPONSE'),
  );

  const early = responseHead('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n');
  assert.deepEqual(responseBodyKind('GET', early), { type: 'none' });
  assert.equal(isInterimResponse(early), true);
  const upgraded = responseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  assert.equal(isInterimResponse(upgraded), false);
  assert.equal(switchesToTunnel('GET', upgraded), true);
  assert.equal(switchesToTunnel('GET', responseHead(ok)), false);
  assert.equal(switchesToTunnel('CONNECT', responseHead(ok)), true);

  const noReason = responseHead('HTTP/1.1 200\r\n\r\n');
  assert.equal(noReason.status, 200);
  assert.equal(noReason.reason, '');
  assert.throws(
    () => new ResponseHeadParser().push(Buffer.from('HTTP/1.1 20 OK\r\n\r\n')),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_RESPONSE'),
  );
  assert.throws(
    () => new ResponseHeadParser({ maxHeadBytes: 30 }).push(Buffer.from(ok + 'x'.repeat(40))),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_RESPONSE'),
  );
});

/**
 * Splits a keep-alive byte stream into requests the way the vhost relay
 * does: head parser, then framer on the remainder, then the next head.
 */
function splitRequests(pieces: Buffer[]): Array<{ head: RequestHead; body: Buffer }> {
  const requests: Array<{ head: RequestHead; body: Buffer }> = [];
  let parser = new RequestHeadParser();
  let current: { head: RequestHead; framer: BodyFramer; body: Buffer[] } | undefined;
  const queue = [...pieces];
  while (queue.length > 0) {
    const piece = queue.shift() as Buffer;
    if (current === undefined) {
      const head = parser.push(piece);
      if (head === undefined) continue;
      current = { head, framer: new BodyFramer(requestBodyKind(head)), body: [] };
      const rest = parser.takeRemainder();
      if (rest.length > 0) queue.unshift(rest);
    } else {
      const n = current.framer.consume(piece);
      current.body.push(piece.subarray(0, n));
      if (n < piece.length) queue.unshift(piece.subarray(n));
    }
    if (current.framer.done) {
      requests.push({ head: current.head, body: Buffer.concat(current.body) });
      current = undefined;
      parser = new RequestHeadParser();
    }
  }
  return requests;
}

test('keep-alive: two pipelined requests in one buffer are split at the exact boundary, in any chunking', () => {
  const first = 'POST /one HTTP/1.1\r\nHost: a.example.com\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n';
  const firstBody = '4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nX-Sum: 7\r\n\r\n';
  const second = 'PUT /two HTTP/1.1\r\nHost: b.example.com\r\nContent-Length: 6\r\n\r\n';
  const secondBody = 'hijklm';
  const third = 'GET /three HTTP/1.1\r\nHost: c.example.com\r\n\r\n';
  const stream = Buffer.from(first + firstBody + second + secondBody + third);

  const check = (requests: Array<{ head: RequestHead; body: Buffer }>, label: string): void => {
    assert.deepEqual(
      requests.map((r) => [r.head.method, requestPath(r.head), r.body.toString()]),
      [
        ['POST', '/one', firstBody],
        ['PUT', '/two', secondBody],
        ['GET', '/three', ''],
      ],
      label,
    );
  };
  check(splitRequests([stream]), 'one buffer');
  const rand = prng(2024);
  for (let round = 0; round < 300; round += 1) check(splitRequests(randomPieces(stream, rand, 1 + rand(60))), `round ${round}`);
  check(splitRequests([...stream].map((b) => Buffer.from([b]))), 'byte by byte');
});

test('a smuggling attempt (CL + TE) never yields a second, hidden request', () => {
  const attack = Buffer.from(
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  assert.throws(
    () => splitRequests([attack]),
    (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
  );
});
