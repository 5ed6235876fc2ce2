import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHttpProxyPlugin } from '../../src/plugin/http-proxy.js';
import { listenHttp, rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

const AUTH = `Basic ${Buffer.from('abc:123').toString('base64')}`;

describe('plugin http_proxy', () => {
  let backend: http.Server;
  let backendPort = 0;
  let echo: net.Server;
  let echoPort = 0;
  let harness: PluginHarness;
  let lines: string[];

  before(async () => {
    backend = http.createServer((req, res) => res.end(`backend saw ${req.url} auth=${req.headers['proxy-authorization'] ?? 'none'}`));
    backendPort = await listenHttp(backend);
    echo = net.createServer((s) => s.pipe(s));
    echoPort = await new Promise<number>((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as net.AddressInfo).port)));
    const t = testContext();
    lines = t.lines;
    harness = await servePlugin(createHttpProxyPlugin({ type: 'http_proxy', httpUser: 'abc', httpPassword: '123' }, t.context), {}, true);
  });

  after(async () => {
    await harness.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
    await new Promise((r) => echo.close(r));
  });

  const viaProxy = (headers: http.OutgoingHttpHeaders): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: harness.port, path: `http://127.0.0.1:${backendPort}/hello`, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers 407 with Proxy-Authenticate: Basic without credentials', async () => {
    const res = await viaProxy({});
    assert.equal(res.status, 407);
    assert.equal(res.headers['proxy-authenticate'], 'Basic');
  });

  it('answers 407 late for wrong credentials', async () => {
    const started = Date.now();
    const res = await viaProxy({ 'proxy-authorization': `Basic ${Buffer.from('abc:nope').toString('base64')}` });
    assert.equal(res.status, 407);
    assert.ok(Date.now() - started >= 150);
  });

  it('forwards a plain request with an absolute URL, without the proxy credentials', async () => {
    const res = await viaProxy({ 'proxy-authorization': AUTH });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'backend saw /hello auth=none');
  });

  it('tunnels CONNECT (sent in fragments) to a TCP echo service', async () => {
    const sock = net.connect(harness.port, '127.0.0.1');
    const request = `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\nProxy-Authorization: ${AUTH}\r\n\r\n`;
    sock.write(request.slice(0, 3));
    setTimeout(() => sock.write(request.slice(3)), 20);
    let got = '';
    await new Promise<void>((resolve) => {
      sock.on('data', (c: Buffer) => {
        got += c.toString();
        if (got === 'HTTP/1.1 200 OK\r\n\r\n') sock.write('ping');
        if (got.endsWith('ping')) resolve();
      });
    });
    assert.equal(got, 'HTTP/1.1 200 OK\r\n\r\nping');
    sock.destroy();
  });

  it('answers CONNECT without credentials 407 and an unreachable or malformed target 400', async () => {
    const refused = await rawExchange(harness.port, `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(refused, /^HTTP\/1\.1 407 Not authorized\r\n/);
    assert.match(refused, /Proxy-Authenticate: Basic/);
    const bad = await rawExchange(harness.port, `CONNECT no-port-here HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${AUTH}\r\n\r\n`);
    assert.match(bad, /^HTTP\/1\.1 400 /);
  });

  it('answers 400 to a request whose target is not an absolute URL, and to garbage', async () => {
    const res = await rawExchange(harness.port, `GET /relative HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${AUTH}\r\nConnection: close\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(harness.port, '\x16\x03\x01garbage\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.ok(!lines.some((l) => l.includes('123') || l.includes(AUTH)), 'no credential in the log');
  });
});
