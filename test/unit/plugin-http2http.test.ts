import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHttp2HttpPlugin } from '../../src/plugin/http2http.js';
import { listenHttp, rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

function get(
  port: number,
  path: string,
  headers: http.OutgoingHttpHeaders = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('plugin http2http', () => {
  let backend: http.Server;
  let backendPort = 0;
  let harness: PluginHarness;
  let plainHarness: PluginHarness;

  before(async () => {
    backend = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.setHeader('x-backend', 'yes');
        res.end(JSON.stringify({ host: req.headers.host, from: req.headers['x-from-where'], xff: req.headers['x-forwarded-for'] ?? null, url: req.url, body }));
      });
    });
    backend.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    backendPort = await listenHttp(backend);
    const settings = {
      type: 'http2http' as const,
      localAddr: `127.0.0.1:${backendPort}`,
      hostHeaderRewrite: 'rewrite.test.com',
      requestHeaders: { set: { 'x-from-where': 'frp' } },
    };
    harness = await servePlugin(createHttp2HttpPlugin(settings, testContext().context), { source: { address: '9.9.9.9', port: 1234 } });
    plainHarness = await servePlugin(createHttp2HttpPlugin({ type: 'http2http', localAddr: `127.0.0.1:${backendPort}` }, testContext().context), {}, true);
  });

  after(async () => {
    await harness.close();
    await plainHarness.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
  });

  it('rewrites Host, sets the configured headers, drops X-Forwarded-For (as frp)', async () => {
    const res = await get(harness.port, '/a?b=1', { host: 'example.com', 'x-forwarded-for': '2.2.2.2' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'yes');
    assert.deepEqual(JSON.parse(res.body), { host: 'rewrite.test.com', from: 'frp', xff: null, url: '/a?b=1', body: '' });
  });

  it('keeps the visitor Host without hostHeaderRewrite and carries a body, over a non-socket Duplex', async () => {
    const res = await get(plainHarness.port, '/post', { host: 'example.com' }, 'hello body');
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { host: string; body: string };
    assert.equal(seen.host, 'example.com');
    assert.equal(seen.body, 'hello body');
  });

  it('serves several requests on one kept-alive connection', async () => {
    const text = await rawExchange(plainHarness.port, 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.match(text, /"url":"\/2"/);
  });

  it('passes an Upgrade through and then relays bytes both ways', async () => {
    const sock = net.connect(harness.port, '127.0.0.1');
    sock.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    let got = '';
    await new Promise<void>((resolve) => {
      sock.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.includes('\r\n\r\n') && !got.includes('ping')) sock.write('ping');
        if (got.endsWith('ping')) resolve();
      });
    });
    assert.match(got, /^HTTP\/1\.1 101 /);
    sock.destroy();
  });

  it('answers a malformed request 400 and an oversized head 431, closing only that connection', async () => {
    assert.match(await rawExchange(harness.port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 /);
    const huge = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    assert.match(await rawExchange(harness.port, huge), /^HTTP\/1\.1 431 /);
    const res = await get(harness.port, '/still', { host: 'a' });
    assert.equal(res.status, 200);
  });

  it('answers 502 when the local service is down', async () => {
    const probe = net.createServer();
    const deadPort = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as net.AddressInfo).port)));
    await new Promise((r) => probe.close(r));
    const { context, lines } = testContext();
    const h = await servePlugin(createHttp2HttpPlugin({ type: 'http2http', localAddr: `127.0.0.1:${deadPort}` }, context));
    const res = await get(h.port, '/', { host: 'a' });
    assert.equal(res.status, 502);
    assert.ok(lines.some((l) => l.includes('http2http: the local service failed')));
    await h.close();
  });

  it('refuses a localAddr that is not host:port when made', () => {
    assert.throws(() => createHttp2HttpPlugin({ type: 'http2http', localAddr: 'nope' }, testContext().context), { code: 'BURROW_CONFIG_INVALID' });
  });
});
