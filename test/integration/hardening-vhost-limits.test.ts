import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drip, openRawVisitor, type RawVisitor } from '../helpers/raw-visitor.js';
import { freePort, makeClient, startServer, waitFor } from '../helpers/tunnel.js';
import { withTimeout } from '../../src/util/timeout.js';

/** A TLS record header and the start of a ClientHello: a valid prefix, never finished. */
const HELLO_PREFIX = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x00, 0x01, 0x02, 0x03, 0x04]);

async function vhostServer(limits: Record<string, number>) {
  return startServer({ vhostHTTPPort: await freePort(), vhostHTTPSPort: await freePort(), tcpmuxHTTPConnectPort: await freePort(), limits });
}

test('slowloris: a request head trickled a byte at a time is cut at its one absolute deadline (http, https, tcpmux)', async () => {
  const server = await vhostServer({ vhostHeaderTimeout: 1 });
  try {
    const slow: Array<{ v: RawVisitor; started: number }> = [];
    const plans: Array<[number, Buffer]> = [
      [server.vhostHttpPort, Buffer.from(`GET / HTTP/1.1\r\nHost: a.example.com\r\nX-Pad: ${'p'.repeat(100)}\r\n\r\n`)],
      [server.vhostHttpsPort, HELLO_PREFIX],
      [server.vhostTcpmuxPort, Buffer.from(`CONNECT a.example.com:80 HTTP/1.1\r\nHost: a.example.com:80\r\nX-Pad: ${'p'.repeat(100)}\r\n\r\n`)],
    ];
    for (const [port, bytes] of plans) {
      for (let i = 0; i < 20; i++) {
        // Taken before connecting: the server's deadline starts at its accept, which cannot come earlier.
        const started = Date.now();
        const v = await openRawVisitor(port);
        slow.push({ v, started });
        drip(v, bytes, 100);
      }
    }
    // A per-read timer would keep every one of these open as long as bytes keep coming.
    const closedAt = await withTimeout(Promise.all(slow.map((s) => s.v.closed)), 8000, 'every slow connection to be closed');
    slow.forEach((s, i) => {
      assert.ok(closedAt[i]! - s.started >= 900, `connection ${i} closed before its deadline`);
      assert.equal(s.v.text, '', 'nothing is sent to a peer that never finished its head');
    });
    await waitFor(() => server.activeConnections === 0, 'the server to hold no vhost connection');
  } finally {
    await server.stop();
  }
});

test('a keep-alive connection that stays silent after its response is closed at the idle deadline', async () => {
  const backend = createHttpServer((_req, res) => res.end('hello'));
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  const server = await vhostServer({ vhostIdleTimeout: 1 });
  const client = makeClient(server.port, {
    proxies: [{ name: 'idle', type: 'http', localPort: (backend.address() as AddressInfo).port, customDomains: ['idle.example.com'] }],
  });
  try {
    await client.start();
    await client.waitForProxy('idle');
    const v = await openRawVisitor(server.vhostHttpPort);
    v.socket.write('GET /one HTTP/1.1\r\nHost: idle.example.com\r\n\r\n');
    await v.waitForText('hello');
    const answeredAt = Date.now();
    assert.match(v.text, /^HTTP\/1\.1 200 /);
    // A second request inside the idle time is still served on the same connection.
    v.socket.write('GET /two HTTP/1.1\r\nHost: idle.example.com\r\n\r\n');
    await withTimeout(
      (async () => {
        while (v.text.split('hello').length < 3) await once(v.socket, 'data');
      })(),
      5000,
      'the second answer',
    );
    const closedAt = await withTimeout(v.closed, 6000, 'the idle connection to be closed');
    assert.ok(closedAt - answeredAt >= 900, 'closed only once idle for the whole idle time');
    assert.equal(v.text.split('HTTP/1.1 200').length, 3, 'two answers and nothing else');
  } finally {
    client.stop();
    await server.stop();
    backend.close();
  }
});

test('the head deadline holds for every request on a keep-alive connection, not only the first', async () => {
  const backend = createHttpServer((_req, res) => res.end('hello'));
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  const server = await vhostServer({ vhostHeaderTimeout: 1 });
  const client = makeClient(server.port, {
    proxies: [{ name: 'ka', type: 'http', localPort: (backend.address() as AddressInfo).port, customDomains: ['ka.example.com'] }],
  });
  try {
    await client.start();
    await client.waitForProxy('ka');
    const v = await openRawVisitor(server.vhostHttpPort);
    v.socket.write('GET /one HTTP/1.1\r\nHost: ka.example.com\r\n\r\n');
    await v.waitForText('hello');
    const startedAt = Date.now();
    drip(v, Buffer.from(`GET /two HTTP/1.1\r\nHost: ka.example.com\r\nX-Pad: ${'p'.repeat(100)}\r\n\r\n`), 100);
    const closedAt = await withTimeout(v.closed, 6000, 'the trickling second request to be cut');
    assert.ok(closedAt - startedAt >= 900, 'not before the deadline');
    assert.equal(v.text.split('HTTP/1.1').length, 2, 'only the first request was answered');
  } finally {
    client.stop();
    await server.stop();
    backend.close();
  }
});

test('connection caps: per source address over all vhost ports, and in total', async () => {
  const server = await vhostServer({ vhostConnsPerIP: 3, vhostConnsTotal: 5 });
  try {
    const held: RawVisitor[] = [];
    held.push(await openRawVisitor(server.vhostHttpPort));
    held.push(await openRawVisitor(server.vhostHttpsPort));
    held.push(await openRawVisitor(server.vhostTcpmuxPort));
    await waitFor(() => server.activeConnections === 3, 'three admitted connections');

    // A fourth from the same address, on any vhost port, is closed without an answer.
    for (const port of [server.vhostHttpPort, server.vhostHttpsPort]) {
      const refused = await openRawVisitor(port);
      await withTimeout(refused.closed, 5000, 'the over-cap connection to be closed');
      assert.equal(refused.text, '');
    }
    assert.equal(server.activeConnections, 3);

    // Another address still gets in, until the total is reached.
    held.push(await openRawVisitor(server.vhostHttpPort, { localAddress: '127.0.0.2' }));
    held.push(await openRawVisitor(server.vhostHttpPort, { localAddress: '127.0.0.2' }));
    await waitFor(() => server.activeConnections === 5, 'five admitted connections');
    const overTotal = await openRawVisitor(server.vhostHttpPort, { localAddress: '127.0.0.3' });
    await withTimeout(overTotal.closed, 5000, 'the connection over the total to be closed');
    assert.equal(overTotal.text, '');

    // A freed place is usable again, and the admitted connection is served.
    held.shift()!.socket.destroy();
    await waitFor(() => server.activeConnections === 4, 'a place to be freed');
    const again = await openRawVisitor(server.vhostHttpPort);
    again.socket.write('GET / HTTP/1.1\r\nHost: nobody.example.com\r\n\r\n');
    await again.waitForText('\r\n\r\n');
    assert.match(again.text, /^HTTP\/1\.1 404 /);
    for (const v of held) v.socket.destroy();
    await waitFor(() => server.activeConnections === 0, 'every place to be freed');
  } finally {
    await server.stop();
  }
});

test('limits keys are checked: a bad value names the key', async () => {
  const { buildServerConfig } = await import('../../src/config/load.js');
  assert.throws(() => buildServerConfig({ limits: { vhostHeaderTimeout: 0 } }), /limits\.vhostHeaderTimeout/);
  assert.throws(() => buildServerConfig({ limits: { vhostConnsTotal: 'many' } }), /limits\.vhostConnsTotal/);
  const { vhostHeaderTimeout, vhostIdleTimeout, vhostConnsPerIP, vhostConnsTotal } = buildServerConfig({}).limits;
  assert.deepEqual(
    { vhostHeaderTimeout, vhostIdleTimeout, vhostConnsPerIP, vhostConnsTotal },
    { vhostHeaderTimeout: 60, vhostIdleTimeout: 60, vhostConnsPerIP: 256, vhostConnsTotal: 4096 },
  );
});
