import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import type { RawProxy } from '../helpers/config.js';
import { vhostRequest } from '../helpers/http.js';
import { httpsGet, listenHttp } from '../helpers/plugin-harness.js';
import { readBytes } from '../helpers/streams.js';
import { type EchoService, echoThrough, freePort, makeClient, patternBytes, portOf, startEcho, startServer } from '../helpers/tunnel.js';

/**
 * Every plugin behind a real server and client: frpc's client plugins take
 * the work connections of tcp/http/https proxies instead of a dial to
 * localPort. Each test reaches the plugin from the public side.
 */
describe('client plugins through real proxies', () => {
  let dir: string;
  let echo: EchoService;
  let unixEcho: net.Server;
  let web: http.Server;
  let webPort: number;
  let server: BurrowServer;
  let client: BurrowClient;
  let httpsPort: number;
  let httpPort: number;
  const remote: Record<string, number> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-plugins-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello from static_file');
    echo = await startEcho();
    unixEcho = net.createServer((s) => s.pipe(s));
    unixEcho.listen(join(dir, 'echo.sock'));
    await once(unixEcho, 'listening');
    web = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(
        `${req.method} ${req.url} host=${req.headers.host ?? ''} xff=${String(req.headers['x-forwarded-for'] ?? '')} x-test=${String(req.headers['x-test'] ?? '')}`,
      );
    });
    webPort = await listenHttp(web);
    httpPort = await freePort();
    httpsPort = await freePort();
    server = await startServer({ vhostHTTPPort: httpPort, vhostHTTPSPort: httpsPort });
    const tcp = (name: string, plugin: RawProxy['plugin']): RawProxy => ({ name, type: 'tcp', remotePort: 0, plugin });
    client = makeClient(server.port, {
      proxies: [
        tcp('hp', { type: 'http_proxy' }),
        tcp('socks', { type: 'socks5' }),
        tcp('files', { type: 'static_file', localPath: dir, stripPrefix: 'static' }),
        tcp('uds', { type: 'unix_domain_socket', unixPath: join(dir, 'echo.sock') }),
        tcp('h2h', { type: 'http2http', localAddr: `127.0.0.1:${webPort}`, hostHeaderRewrite: 'rewritten.test', requestHeaders: { set: { 'x-test': 'set' } } }),
        { name: 'https2http', type: 'https', customDomains: ['secure.test'], plugin: { type: 'https2http', localAddr: `127.0.0.1:${webPort}` } },
        { name: 'raw', type: 'https', customDomains: ['raw.test'], plugin: { type: 'tls2raw', localAddr: `127.0.0.1:${echo.port}` } },
        { name: 'vh', type: 'http', customDomains: ['plain.test'], plugin: { type: 'http2http', localAddr: `127.0.0.1:${webPort}` } },
        // A plugin that cannot be made fails its own proxy only.
        tcp('broken', { type: 'https2http', localAddr: `127.0.0.1:${webPort}`, crtPath: join(dir, 'missing.crt'), keyPath: join(dir, 'missing.key') }),
      ],
    });
    await client.start();
    for (const name of ['hp', 'socks', 'files', 'uds', 'h2h']) remote[name] = portOf((await client.waitForProxy(name)).remoteAddr);
    for (const name of ['https2http', 'raw', 'vh']) await client.waitForProxy(name);
  });

  after(async () => {
    client.stop();
    await server.stop();
    await echo.close();
    unixEcho.close();
    await new Promise((r) => web.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('http_proxy forwards an absolute-URL request', async () => {
    const port = remote.hp ?? 0;
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: `http://127.0.0.1:${webPort}/through-proxy`, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(body, /^GET \/through-proxy host=127\.0\.0\.1:\d+/);
  });

  test('socks5 connects to the echo service', async () => {
    const sock = net.connect(remote.socks ?? 0, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(Buffer.from([5, 1, 0]));
    assert.deepEqual([...(await readBytes(sock, 2))], [5, 0]);
    const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 0]);
    req.writeUInt16BE(echo.port, 8);
    sock.write(req);
    const reply = await readBytes(sock, 10);
    assert.equal(reply[1], 0, 'CONNECT succeeded');
    const data = patternBytes(100_000, 3);
    sock.write(data);
    assert.ok((await readBytes(sock, data.length)).equals(data));
    sock.destroy();
  });

  test('static_file serves a file under its prefix', async () => {
    const res = await vhostRequest(remote.files ?? 0, 'any', '/static/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello from static_file');
  });

  test('unix_domain_socket carries bytes both ways', async () => {
    const data = patternBytes(200_000, 5);
    assert.ok((await echoThrough(remote.uds ?? 0, data)).equals(data));
  });

  test('http2http rewrites the Host and sets headers', async () => {
    const res = await vhostRequest(remote.h2h ?? 0, 'orig.test', '/p');
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /^GET \/p host=rewritten\.test xff= x-test=set$/);
  });

  test('http2http behind an http vhost', async () => {
    const res = await vhostRequest(httpPort, 'plain.test', '/vh');
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /^GET \/vh host=plain\.test/);
  });

  test('https2http ends TLS on the client and appends the visitor to X-Forwarded-For', async () => {
    const res = await httpsGet(httpsPort, { host: 'secure.test', 'x-forwarded-for': '2.2.2.2' }, 'secure.test');
    assert.equal(res.status, 200);
    assert.match(res.body, /^GET \/x host=secure\.test xff=2\.2\.2\.2, 127\.0\.0\.1/);
  });

  test('tls2raw ends TLS and relays the plain bytes', async () => {
    const sock = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'raw.test', rejectUnauthorized: false });
    await once(sock, 'secureConnect');
    const data = patternBytes(50_000, 9);
    sock.write(data);
    assert.ok((await readBytes(sock, data.length)).equals(data));
    sock.destroy();
  });

  test('the status shows the plugin and no local address, as frpc', () => {
    const s = client.status('hp');
    assert.equal(s?.plugin, 'http_proxy');
    assert.equal(s?.localAddr, '');
    assert.equal(client.status('files')?.plugin, 'static_file');
  });

  test('a plugin that cannot be made fails its proxy only, with the reason', () => {
    const s = client.status('broken');
    assert.equal(s?.phase, 'start error');
    assert.match(s?.err ?? '', /missing\.crt|crtPath/);
  });
});
