import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { freePort, makeClient, startServer, waitFor } from '../helpers/tunnel.js';

/**
 * A visitor that closes its side before (or between) requests must not leave
 * its socket open on the server: the vhost listeners accept with
 * allowHalfOpen, so the server has to end its side itself, and it must keep
 * reading after an error answer or it never sees the visitor go.
 */

describe('vhost ports close a connection the visitor closed', () => {
  let server: BurrowServer;
  let client: BurrowClient;
  let backend: HttpServer;

  before(async () => {
    backend = createHttpServer((_req, res) => res.end('hello'));
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    server = await startServer({ vhostHTTPPort: await freePort(), vhostHTTPSPort: await freePort(), tcpmuxHTTPConnectPort: await freePort() });
    client = makeClient(server.port, {
      proxies: [{ name: 'web', type: 'http', localIP: '127.0.0.1', localPort: (backend.address() as AddressInfo).port, customDomains: ['web.example'] }],
    });
    await client.start();
    await client.waitForProxy('web');
  });

  after(async () => {
    client.stop();
    await server.stop();
    await new Promise((r) => backend.close(r));
  });

  /** Connects, sends `data` (maybe nothing), half-closes, and waits for the server to close its side too. */
  async function closeAfter(port: number, data: string): Promise<void> {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    await once(socket, 'connect');
    socket.on('data', () => {});
    socket.end(data);
    await waitFor(() => socket.readableEnded, `the server to close ${data ? 'a partial head' : 'a silent connection'} on port ${port}`, 5000);
    socket.destroy();
  }

  for (const [name, data] of [
    ['nothing', ''],
    ['a partial http head', 'GET / HTTP/1.1\r\nHost: web.ex'],
    ['a partial TLS ClientHello', '\x16\x03\x01\x00\x80\x01'],
  ] as const) {
    test(`after ${name}, on every vhost port`, async () => {
      for (const port of [server.vhostHttpPort, server.vhostHttpsPort, server.vhostTcpmuxPort]) await closeAfter(port, data);
    });
  }

  test('after an error answer while the visitor kept sending, then reset', async () => {
    const before = server.activeConnections;
    for (const [port, head] of [
      [server.vhostHttpPort, 'GET / HTTP/1.1\r\nHost: nobody.example\r\n\r\n'],
      [server.vhostTcpmuxPort, 'CONNECT nobody.example:443 HTTP/1.1\r\nHost: nobody.example\r\n\r\n'],
    ] as const) {
      const socket = connect({ host: '127.0.0.1', port });
      await once(socket, 'connect');
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      socket.on('error', () => {});
      // Bytes behind the head that the server never reads: they hide the visitor's close from it.
      socket.write(head + 'more bytes the server will not want');
      await waitFor(() => answer.includes('404'), `the 404 on port ${port}`);
      socket.destroy();
    }
    await waitFor(() => server.activeConnections === before, `the server to drop both visitors (open: ${server.activeConnections}, before: ${before})`, 5000);
  });

  test('after a keep-alive request was answered', async () => {
    const socket = connect({ host: '127.0.0.1', port: server.vhostHttpPort, allowHalfOpen: true });
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.write('GET / HTTP/1.1\r\nHost: web.example\r\n\r\n');
    await waitFor(() => answer.endsWith('hello'), 'the answer');
    assert.match(answer, /^HTTP\/1\.1 200/);
    socket.end();
    await waitFor(() => socket.readableEnded, 'the server to end its side after the visitor closed between requests', 5000);
    socket.destroy();
  });
});
