/**
 * frp's port sharing: vhostHTTPPort and vhostHTTPSPort equal to bindPort.
 * HTTP visitors, HTTPS (SNI) visitors and clients over tcp, TLS with frp's
 * 0x17 marker and websocket all use the one port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { vhostRequest } from '../helpers/http.js';
import { echoThrough, freePort, patternBytes, portOf, tcpProxy, tunnelKit } from '../helpers/tunnel.js';

const LINKS = [
  { label: 'plain tcp', protocol: 'tcp', tls: false, marker: false },
  { label: 'TLS with the 0x17 marker', protocol: 'tcp', tls: true, marker: true },
  { label: 'websocket', protocol: 'websocket', tls: false, marker: false },
  { label: 'websocket with TLS inside', protocol: 'websocket', tls: true, marker: true },
] as const;

async function httpBackend(): Promise<{ port: number; close(): void }> {
  const server = createHttpServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.url}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

async function tlsBackend(): Promise<{ port: number; close(): void }> {
  const cert = generateSelfSignedCertificate({ commonName: 'secure.share.test' });
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
    s.on('error', () => {});
    s.end(`tls backend saw ${s.servername ?? ''}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

function tlsGet(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

for (const link of LINKS) {
  test(`bind port shared with the http and https vhosts, client over ${link.label}`, async (t) => {
    const kit = tunnelKit(t);
    const echo = await kit.startEcho();
    const web = await httpBackend();
    const secure = await tlsBackend();
    t.after(() => {
      web.close();
      secure.close();
    });
    const port = await freePort();
    const server = await kit.startServer({ bindPort: port, vhostHTTPPort: port, vhostHTTPSPort: port });
    assert.equal(server.port, port);
    assert.equal(server.vhostHttpPort, port, 'the http vhost reports the bind port');
    assert.equal(server.vhostHttpsPort, port);
    const client = kit.makeClient(port, {
      protocol: link.protocol,
      tls: link.tls,
      extra: { transport: { tls: { disableCustomTLSFirstByte: !link.marker } } },
      proxies: [
        tcpProxy('echo', echo.port),
        { name: 'web', type: 'http', localPort: web.port, customDomains: ['web.share.test'] },
        { name: 'secure', type: 'https', localPort: secure.port, customDomains: ['secure.share.test'] },
      ],
    });
    await client.start();
    const tcp = await client.waitForProxy('echo');
    await client.waitForProxy('web');
    await client.waitForProxy('secure');

    const data = patternBytes(64 * 1024);
    assert.ok((await echoThrough(portOf(tcp.remoteAddr), data)).equals(data), 'the tcp tunnel works');
    const answer = await vhostRequest(port, 'web.share.test', '/path?q=1');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString(), 'backend saw web.share.test /path?q=1');
    assert.equal((await vhostRequest(port, 'nobody.share.test', '/')).status, 404, 'an unknown host is the vhost 404');
    assert.equal(await tlsGet(port, 'secure.share.test'), 'tls backend saw secure.share.test');
  });
}

test('with only the http vhost shared, a client whose TLS starts 0x16 still logs in on the bind port', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const port = await freePort();
  const server = await kit.startServer({ bindPort: port, vhostHTTPPort: port });
  const client = kit.makeClient(server.port, {
    tls: true,
    extra: { transport: { tls: { disableCustomTLSFirstByte: true } } },
    proxies: [tcpProxy('echo', echo.port)],
  });
  await client.start();
  const tcp = await client.waitForProxy('echo');
  const data = patternBytes(1024);
  assert.ok((await echoThrough(portOf(tcp.remoteAddr), data)).equals(data));
  assert.equal((await vhostRequest(port, 'nobody.share.test', '/')).status, 404);
});

test('a vhost port equal to bindPort on a different proxyBindAddr is not shared (frp opens its own listener)', async (t) => {
  const kit = tunnelKit(t);
  const port = await freePort();
  const server = await kit.startServer({ bindAddr: '127.0.0.1', proxyBindAddr: '127.0.0.2', bindPort: port, vhostHTTPPort: port });
  assert.equal(server.vhostHttpPort, port);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.2', port, path: '/', headers: { host: 'nobody.share.test' }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 404, 'the vhost answers on its own listener at proxyBindAddr');
});
