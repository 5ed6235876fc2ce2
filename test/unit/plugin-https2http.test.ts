import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createHttps2HttpPlugin } from '../../src/plugin/https2http.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { waitFor } from '../helpers/tunnel.js';
import { httpsGet, listenHttp, rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('plugin https2http', () => {
  let backend: http.Server;
  let harness: PluginHarness;
  let dir: string;

  before(async () => {
    backend = http.createServer((req, res) => {
      res.end(
        JSON.stringify({
          xff: req.headers['x-forwarded-for'],
          xfh: req.headers['x-forwarded-host'],
          xfp: req.headers['x-forwarded-proto'],
          host: req.headers.host,
          v: req.httpVersion,
        }),
      );
    });
    // An upgrade the backend accepts, then echoes: frp's wss e2e spec runs a websocket server through this plugin.
    backend.on('upgrade', (req, socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Seen-Host: ${req.headers.host}\r\n\r\n`);
      socket.pipe(socket);
    });
    const port = await listenHttp(backend);
    dir = mkdtempSync(join(tmpdir(), 'plugin-https2http-'));
    const pair = generateSelfSignedCertificate({ commonName: 'example.com' });
    writeFileSync(join(dir, 'server.crt'), pair.cert);
    writeFileSync(join(dir, 'server.key'), pair.key);
    const plugin = createHttps2HttpPlugin(
      { type: 'https2http', localAddr: `127.0.0.1:${port}`, crtPath: join(dir, 'server.crt'), keyPath: join(dir, 'server.key') },
      testContext().context,
    );
    harness = await servePlugin(plugin, { source: { address: '127.0.0.1', port: 50000 }, destination: { address: '127.0.0.1', port: 443 } }, true);
  });

  after(async () => {
    await harness.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends the visitor address from ConnectionInfo to X-Forwarded-For, as frp e2e real_ip', async () => {
    const res = await httpsGet(harness.port, { host: 'example.com', 'x-forwarded-for': '2.2.2.2' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as Record<string, string>;
    assert.equal(seen.xff, '2.2.2.2, 127.0.0.1');
    assert.equal(seen.xfh, 'example.com');
    assert.equal(seen.xfp, 'https');
    assert.equal(seen.host, 'example.com');
    assert.equal(res.cert.subject?.CN, 'example.com');
  });

  it('speaks HTTP/2 to a visitor that offers it (enableHTTP2 defaults on)', async () => {
    const client = http2.connect(`https://127.0.0.1:${harness.port}`, { rejectUnauthorized: false, servername: 'example.com' });
    const body = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ':path': '/h2', ':authority': 'example.com' });
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
    client.close();
    const seen = JSON.parse(body) as Record<string, string>;
    assert.equal(seen.xff, '127.0.0.1');
    assert.equal(seen.host, 'example.com');
  });

  it('answers 421 when Host differs from the TLS server name', async () => {
    const res = await httpsGet(harness.port, { host: 'other.example.com' });
    assert.equal(res.status, 421);
  });

  it('closes a connection that does not speak TLS, without answering', async () => {
    assert.equal(await rawExchange(harness.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'), '');
  });

  it('refuses unreadable certificate files when made', () => {
    assert.throws(
      () =>
        createHttps2HttpPlugin(
          { type: 'https2http', localAddr: '127.0.0.1:1', crtPath: '/nonexistent.crt', keyPath: '/nonexistent.key' },
          testContext().context,
        ),
      { code: 'BURROW_CONFIG_INVALID' },
    );
  });

  it('passes an HTTP/1.1 upgrade (WebSocket) through, then bytes both ways, as frp', async () => {
    const socket = tls.connect({ port: harness.port, host: '127.0.0.1', servername: 'example.com', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    await once(socket, 'secureConnect');
    socket.write('GET /ws HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n') && !got.endsWith('ping')) socket.write('ping');
    });
    await waitFor(() => got.endsWith('ping'), 'the echoed bytes after the 101');
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 101 /);
    assert.match(got, /x-seen-host: example\.com/i);
  });
});
