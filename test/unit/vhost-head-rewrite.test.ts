import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileHeaderSet, EMPTY_HEADER_SET, rewriteRequestHead, rewriteResponseHead } from '../../src/vhost/head-rewrite.js';
import { RequestHeadParser, type RequestHead } from '../../src/vhost/request-head.js';
import { ResponseHeadParser, type ResponseHead } from '../../src/vhost/response-head.js';
import { isBurrowError } from '../../src/util/errors.js';

function request(text: string): RequestHead {
  const head = new RequestHeadParser().push(Buffer.from(text, 'latin1'));
  assert.ok(head);
  return head;
}

function response(text: string): ResponseHead {
  const head = new ResponseHeadParser().push(Buffer.from(text, 'latin1'));
  assert.ok(head);
  return head;
}

test('request rewrite: forwarding headers added, client values replaced, order and case kept', () => {
  const head = request(
    'GET /chat?room=1 HTTP/1.1\r\n' +
      'Host: Chat.Example.com:8080\r\n' +
      'X-Forwarded-For: 10.0.0.1\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'x-forwarded-for: 10.0.0.2\r\n' +
      'X-Real-IP: 6.6.6.6\r\n' +
      'X-Forwarded-Proto: gopher\r\n' +
      'X-Forwarded-Host: evil\r\n' +
      'Forwarded: for=6.6.6.6\r\n' +
      'Proxy-Authorization: Basic dTpw\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'Sec-WebSocket-Key: abc==\r\n' +
      '\r\n',
  );
  const out = rewriteRequestHead(head, { clientIp: '203.0.113.9', proto: 'http' });
  assert.equal(
    out.toString('latin1'),
    'GET /chat?room=1 HTTP/1.1\r\n' +
      'Host: Chat.Example.com:8080\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'Sec-WebSocket-Key: abc==\r\n' +
      'X-Forwarded-For: 10.0.0.1, 10.0.0.2, 203.0.113.9\r\n' +
      'X-Forwarded-Host: Chat.Example.com:8080\r\n' +
      'X-Forwarded-Proto: http\r\n' +
      'X-Real-IP: 203.0.113.9\r\n' +
      '\r\n',
  );
});

test('request rewrite: host_header_rewrite and configured headers (replace case-insensitively, else append)', () => {
  const head = request('POST /api HTTP/1.1\r\nhost: public.example.com\r\nuser-agent: curl/8\r\nX-Team: a\r\nx-team: b\r\nContent-Length: 2\r\n\r\n');
  const set = compileHeaderSet({ 'User-Agent': 'burrow-test', 'X-Team': 'core', 'X-New': 'café', 'Content-Length': '99', Host: 'ignored' });
  const out = rewriteRequestHead(head, { clientIp: '::1', proto: 'https', hostRewrite: 'internal.local:3000', setHeaders: set });
  assert.equal(
    out.toString('latin1'),
    'POST /api HTTP/1.1\r\n' +
      'host: internal.local:3000\r\n' +
      'user-agent: burrow-test\r\n' +
      'X-Team: core\r\n' +
      'Content-Length: 2\r\n' +
      'X-Forwarded-For: ::1\r\n' +
      'X-Forwarded-Host: public.example.com\r\n' +
      'X-Forwarded-Proto: https\r\n' +
      'X-Real-IP: ::1\r\n' +
      'X-New: caf\xc3\xa9\r\n' +
      '\r\n',
  );
  // Configured values are sent as UTF-8 bytes.
  assert.ok(out.includes(Buffer.from('X-New: café\r\n', 'utf8')));
});

test('request rewrite: HTTP/1.0 without Host gets the rewritten Host first; no client IP leaves the IP headers out', () => {
  const head = request('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n');
  assert.equal(
    rewriteRequestHead(head, { clientIp: '', proto: 'http', hostRewrite: 'backend' }).toString(),
    'GET / HTTP/1.0\r\nHost: backend\r\nAccept: */*\r\nX-Forwarded-Proto: http\r\n\r\n',
  );
  // Configured headers may override the forwarding ones, as in frp.
  assert.equal(
    rewriteRequestHead(head, { clientIp: '1.2.3.4', proto: 'http', setHeaders: compileHeaderSet({ 'x-forwarded-proto': 'https' }) }).toString(),
    'GET / HTTP/1.0\r\nAccept: */*\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 1.2.3.4\r\n\r\n',
  );
});

test('request rewrite: bare-LF input comes out with CRLF, and re-parses to the same request', () => {
  const head = request('DELETE /x HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n');
  const out = rewriteRequestHead(head, { clientIp: '10.1.1.1', proto: 'http' });
  assert.equal(
    out.toString(),
    'DELETE /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Host: h\r\nX-Forwarded-Proto: http\r\nX-Real-IP: 10.1.1.1\r\n\r\n',
  );
  const again = new RequestHeadParser().push(out);
  assert.ok(again);
  assert.equal(again.headers.length, 6);
});

test('response rewrite: response_headers replace or append; nothing configured returns the raw bytes', () => {
  const head = response('HTTP/1.1 200 OK\r\nServer: nginx\r\nserver: other\r\nContent-Length: 2\r\n\r\n');
  assert.equal(rewriteResponseHead(head, EMPTY_HEADER_SET), head.raw);
  assert.equal(
    rewriteResponseHead(head, compileHeaderSet({ SERVER: 'burrow', 'Strict-Transport-Security': 'max-age=60', 'Transfer-Encoding': 'chunked' })).toString(),
    'HTTP/1.1 200 OK\r\nServer: burrow\r\nContent-Length: 2\r\nStrict-Transport-Security: max-age=60\r\n\r\n',
  );
  const noReason = response('HTTP/1.1 204\r\n\r\n');
  assert.equal(rewriteResponseHead(noReason, compileHeaderSet({ A: 'b' })).toString(), 'HTTP/1.1 204\r\nA: b\r\n\r\n');
});

test('configured headers that could inject lines are refused', () => {
  assert.throws(
    () => compileHeaderSet({ 'X-A': 'one\r\nX-Injected: two' }),
    (err: unknown) => isBurrowError(err, 'BURROW_CONFIG_INVALID'),
  );
  assert.throws(
    () => compileHeaderSet({ 'Bad Name': 'x' }),
    (err: unknown) => isBurrowError(err, 'BURROW_CONFIG_INVALID'),
  );
  const head = request('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.throws(
    () => rewriteRequestHead(head, { clientIp: '1.1.1.1', proto: 'http', hostRewrite: 'a\r\nb' }),
    (err: unknown) => isBurrowError(err, 'BURROW_CONFIG_INVALID'),
  );
});
