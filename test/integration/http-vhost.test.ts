import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, Agent, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { vhostRequest } from '../helpers/http.js';
import { makeClient, patternBytes, startServer, freePort, waitFor } from '../helpers/tunnel.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
}

/** A local HTTP service that names itself and records what reached it. */
async function startBackend(name: string): Promise<{ server: HttpServer; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyLength: body.length });
      if (req.url === '/download') {
        res.end(patternBytes(50 * 1024 * 1024, 31));
        return;
      }
      res.setHeader('x-backend', name);
      res.end(body.length > 0 ? body : `${name} ${req.url}`);
    });
  });
  server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const get = vhostRequest;

describe('http vhost', () => {
  let server: BurrowServer;
  let client: BurrowClient;
  let a: Awaited<ReturnType<typeof startBackend>>;
  let b: Awaited<ReturnType<typeof startBackend>>;
  let vhost: number;
  let deadPort: number;

  before(async () => {
    a = await startBackend('A');
    b = await startBackend('B');
    deadPort = await freePort();
    server = await startServer({ vhostHTTPPort: await freePort(), subDomainHost: 'tunnel.test' });
    vhost = server.vhostHttpPort;
    client = makeClient(server.port, {
      proxies: [
        { name: 'a', type: 'http', localPort: a.port, customDomains: ['a.example.com'] },
        {
          name: 'b',
          type: 'http',
          localPort: b.port,
          subdomain: 'b',
          hostHeaderRewrite: 'rewritten.internal',
          requestHeaders: { set: { 'x-from-where': 'burrow' } },
        },
        { name: 'a-api', type: 'http', localPort: b.port, customDomains: ['a.example.com'], locations: ['/api'] },
        { name: 'private', type: 'http', localPort: a.port, customDomains: ['private.example.com'], httpUser: 'u', httpPassword: 'p' },
        { name: 'wild', type: 'http', localPort: b.port, customDomains: ['*.wild.example.com'] },
        { name: 'dead', type: 'http', localPort: deadPort, customDomains: ['dead.example.com'] },
      ],
    });
    await client.start();
    for (const n of ['a', 'b', 'a-api', 'private', 'wild', 'dead']) await client.waitForProxy(n);
  });

  after(async () => {
    client.stop();
    await server.stop();
    a.server.close();
    b.server.close();
  });

  test('two domains on one port reach two different local services', async () => {
    const ra = await get(vhost, 'a.example.com', '/x');
    const rb = await get(vhost, 'b.tunnel.test', '/y');
    assert.equal(ra.body.toString(), 'A /x');
    assert.equal(rb.body.toString(), 'B /y');
    assert.equal(client.status('a')?.remoteAddr, `a.example.com:${vhost}`);
  });

  test('Host with a port or in upper case routes the same; wildcard domains match', async () => {
    assert.equal((await get(vhost, `A.Example.COM:${vhost}`, '/p')).body.toString(), 'A /p');
    assert.equal((await get(vhost, 'x.y.wild.example.com', '/w')).body.toString(), 'B /w');
  });

  test('locations: the longest prefix wins', async () => {
    assert.equal((await get(vhost, 'a.example.com', '/api/v1')).body.toString(), 'B /api/v1');
    assert.equal((await get(vhost, 'a.example.com', '/apix')).body.toString(), 'B /apix', 'prefix match as frp');
    assert.equal((await get(vhost, 'a.example.com', '/other')).body.toString(), 'A /other');
  });

  test('host rewrite, configured headers and X-Forwarded-* reach the backend', async () => {
    await get(vhost, 'b.tunnel.test', '/seen', { headers: { 'x-forwarded-for': '198.51.100.9' } });
    const s = b.seen.find((x) => x.url === '/seen')!;
    assert.equal(s.headers.host, 'rewritten.internal');
    assert.equal(s.headers['x-from-where'], 'burrow');
    assert.equal(s.headers['x-forwarded-for'], '198.51.100.9, 127.0.0.1');
    assert.equal(s.headers['x-real-ip'], '127.0.0.1');
    assert.equal(s.headers['x-forwarded-proto'], 'http');
  });

  test('basic auth: 401 with WWW-Authenticate on a miss, through with the right credentials', async () => {
    const miss = await get(vhost, 'private.example.com', '/');
    assert.equal(miss.status, 401);
    assert.equal(miss.headers['www-authenticate'], 'Basic realm="Restricted"');
    const ok = await get(vhost, 'private.example.com', '/in', { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'A /in');
  });

  test('basic auth, the vhost used as an HTTP proxy: Proxy-Authorization only, 407 on a miss (as frp)', async () => {
    const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const target = 'http://private.example.com/in';
    const ok = await get(vhost, 'private.example.com', target, { headers: { 'proxy-authorization': basic('u', 'p') } });
    assert.equal(ok.status, 200);
    // The target goes on to the service as sent (absolute form); the service answers for /in.
    assert.match(ok.body.toString(), /^A (http:\/\/private\.example\.com)?\/in$/);
    const wrong = await get(vhost, 'private.example.com', target, { headers: { 'proxy-authorization': basic('u', 'x') } });
    assert.equal(wrong.status, 407);
    assert.equal(wrong.headers['proxy-authenticate'], 'Basic realm="Restricted"');
    // An Authorization header does not stand in for proxy credentials, right or wrong alone.
    const directCreds = await get(vhost, 'private.example.com', target, { headers: { authorization: basic('u', 'p') } });
    assert.equal(directCreds.status, 407);
    const mixed = await get(vhost, 'private.example.com', target, { headers: { authorization: basic('u', 'p'), 'proxy-authorization': basic('u', 'x') } });
    assert.equal(mixed.status, 407);
  });

  test('keep-alive: a second request on the same connection to another host is routed again', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(vhost, 'a.example.com', '/1', { agent });
    const second = await get(vhost, 'b.tunnel.test', '/2', { agent });
    const third = await get(vhost, 'a.example.com', '/api/3', { agent });
    agent.destroy();
    assert.equal(first.body.toString(), 'A /1');
    assert.equal(second.body.toString(), 'B /2');
    assert.equal(third.body.toString(), 'B /api/3');
    assert.ok(second.reused && third.reused, 'the same visitor connection carried all three');
  });

  test('a 50 MiB chunked upload and a 50 MiB download arrive byte-exact', async () => {
    const body = patternBytes(50 * 1024 * 1024, 30);
    const up = await get(vhost, 'a.example.com', '/upload', { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(up.status, 200);
    assert.ok(up.body.equals(body), 'upload echoed byte-exact');
    const down = await get(vhost, 'a.example.com', '/download');
    assert.ok(down.body.equals(patternBytes(50 * 1024 * 1024, 31)));
  });

  test('an Upgrade (WebSocket-style) becomes a raw two-way relay', async () => {
    const s = connect({ host: '127.0.0.1', port: vhost });
    await once(s, 'connect');
    s.write('GET /ws HTTP/1.1\r\nHost: a.example.com\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('latin1')));
    while (!text.includes('\r\n\r\n')) await once(s, 'data');
    assert.match(text, /^HTTP\/1\.1 101 /);
    text = '';
    s.write('ping through the upgrade');
    while (text.length < 24) await once(s, 'data');
    assert.equal(text, 'ping through the upgrade');
    s.destroy();
  });

  test('unknown host → 404 page; backend down → the same 404 page, as frps; both small and clear', async () => {
    const nf = await get(vhost, 'nobody.example.com', '/');
    assert.equal(nf.status, 404);
    assert.ok(nf.body.length < 2048);
    const bad = await get(vhost, 'dead.example.com', '/');
    assert.equal(bad.status, 404);
  });

  test('a malformed request line gets 400 and an oversize head 431; other connections are unaffected', async () => {
    for (const [raw, status] of [
      ['NOT A REQUEST\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: a.example.com\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 431],
    ] as const) {
      const s = connect({ host: '127.0.0.1', port: vhost });
      await once(s, 'connect');
      s.on('error', () => {});
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString('latin1')));
      s.write(raw);
      await once(s, 'close');
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    }
    assert.equal((await get(vhost, 'a.example.com', '/still')).body.toString(), 'A /still');
  });

  test('load-balancing group: requests rotate across members; a wrong group key is refused', async () => {
    const c2 = makeClient(server.port, {
      proxies: [
        { name: 'g1', type: 'http', localPort: a.port, customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'k' } },
        { name: 'g2', type: 'http', localPort: b.port, customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'k' } },
        { name: 'g3', type: 'http', localPort: b.port, customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'wrong' } },
      ],
    });
    await c2.start();
    await c2.waitForProxy('g1');
    await c2.waitForProxy('g2');
    await assert.rejects(c2.waitForProxy('g3'), /group \[web\] auth failed/);
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await get(vhost, 'lb.example.com', '/')).body.toString().split(' ')[0]!);
    assert.deepEqual([...names].sort(), ['A', 'B']);
    c2.stop();
  });
});

test('a visitor that never finishes its request head is dropped after the head timeout', async () => {
  const { VhostHttpServer } = await import('../../src/server/vhost-http.js');
  const { silentLogger } = await import('../../src/util/logger.js');
  const { VhostConnectionGate } = await import('../../src/server/vhost-gate.js');
  const gate = new VhostConnectionGate({ perAddress: 0, total: 100 });
  const vhost = new VhostHttpServer({ host: '127.0.0.1', port: 0, responseTimeoutSec: 60, logger: silentLogger, gate, requestHeadTimeoutMs: 100 });
  await vhost.listen();
  try {
    const slow = connect({ host: '127.0.0.1', port: vhost.port });
    slow.on('error', () => {});
    await once(slow, 'connect');
    slow.write('GET / HTTP/1.1\r\nHost: a.example.com\r\n');
    await once(slow, 'close');
    await waitFor(() => vhost.connectionCount === 0, 'the server side of the slow connection to close');
  } finally {
    await vhost.close();
  }
});

test('a vhost port already in use fails the server start with the port named', async () => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const busy = (blocker.address() as AddressInfo).port;
  try {
    await assert.rejects(startServer({ vhostHTTPPort: busy }), new RegExp(`http vhost port 127\\.0\\.0\\.1:${busy} is already in use`));
  } finally {
    blocker.close();
  }
});
