import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import {
  badRequestResponse,
  gatewayTimeoutResponse,
  headTooLargeResponse,
  notFoundResponse,
  proxyAuthRequiredResponse,
  responseForRequestError,
  unauthorizedResponse,
} from '../../src/vhost/pages.js';
import { BodyFramer, responseBodyKind } from '../../src/vhost/body-framer.js';
import { getHeader, ResponseHeadParser } from '../../src/vhost/response-head.js';

/** What a real HTTP client makes of `bytes` written by a raw server. */
async function fetchRaw(bytes: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const server = net.createServer((socket) => {
    socket.once('data', () => socket.end(bytes));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    });
  } finally {
    server.close();
  }
}

test('built-in pages are complete HTTP/1.1 responses a real client reads', async () => {
  const pages: Array<[Buffer, number, string]> = [
    [notFoundResponse(), 404, 'Not Found'],
    [badRequestResponse(), 400, 'Bad Request'],
    [headTooLargeResponse(), 431, 'Request Header Fields Too Large'],
    [unauthorizedResponse(), 401, 'Unauthorized'],
    [proxyAuthRequiredResponse(), 407, 'Proxy Authentication Required'],
    [gatewayTimeoutResponse(), 504, 'Gateway Timeout'],
  ];
  for (const [bytes, status, title] of pages) {
    const res = await fetchRaw(bytes);
    assert.equal(res.status, status);
    assert.equal(res.headers.server, 'burrow');
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.match(res.body, new RegExp(`<title>${status} ${title}</title>`));
    assert.ok(bytes.toString('latin1').startsWith(`HTTP/1.1 ${status} ${title}\r\n`));
  }
  assert.equal((await fetchRaw(unauthorizedResponse())).headers['www-authenticate'], 'Basic realm="Restricted"');
  assert.equal((await fetchRaw(proxyAuthRequiredResponse())).headers['proxy-authenticate'], 'Basic realm="Restricted"');
});

test('the 404 page can be replaced by custom404Page contents', async () => {
  const custom = '<html><body>Nothing here — ünïcode</body></html>';
  const res = await fetchRaw(notFoundResponse(custom));
  assert.equal(res.status, 404);
  assert.equal(res.body, custom);
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(custom));
  assert.equal((await fetchRaw(notFoundResponse(Buffer.from('plain')))).body, 'plain');
});

test('pages frame themselves: our own response parser and framer find their exact end', () => {
  const bytes = notFoundResponse();
  const parser = new ResponseHeadParser();
  const head = parser.push(Buffer.concat([bytes, Buffer.from('EXTRA')]));
  assert.ok(head);
  assert.equal(getHeader(head.headers, 'connection'), 'close');
  const framer = new BodyFramer(responseBodyKind('GET', head), { side: 'response' });
  const rest = parser.takeRemainder();
  assert.equal(framer.consume(rest), rest.length - 5);
  assert.equal(framer.done, true);
});

test('request-head errors map to their pages', () => {
  assert.equal(responseForRequestError('BURROW_HTTP_HEAD_TOO_LARGE'), headTooLargeResponse());
  assert.equal(responseForRequestError('BURROW_HTTP_BAD_REQUEST'), badRequestResponse());
});
