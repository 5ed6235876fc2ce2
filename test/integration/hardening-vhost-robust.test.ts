import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { vhostRequest } from '../helpers/http.js';
import { openRawVisitor } from '../helpers/raw-visitor.js';
import { freePort, makeClient, startEcho, startServer, waitFor, type EchoService } from '../helpers/tunnel.js';
import { withTimeout } from '../../src/util/timeout.js';

/** A hand-written HTTP backend: `onHead` runs once per connection when the first head has arrived. */
interface RawBackend {
  server: Server;
  port: number;
  /** every byte each connection received, latin1, in accept order */
  readonly received: string[];
  /** connections currently open */
  readonly open: number;
}

async function rawBackend(onHead: (socket: Socket, received: () => string) => void): Promise<RawBackend> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    const index = received.push('') - 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let answered = false;
    s.on('data', (c: Buffer) => {
      received[index] += c.toString('latin1');
      if (!answered && received[index]!.includes('\r\n\r\n')) {
        answered = true;
        onHead(s, () => received[index]!);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    received,
    get open() {
      return sockets.size;
    },
  };
}

describe('vhost: misbehaving visitors and backends close only their own connection', () => {
  let server: BurrowServer;
  let client: BurrowClient;
  let echo: EchoService;
  let plain: HttpServer;
  let switcher: RawBackend;
  let silent: RawBackend;
  let breaker: RawBackend;
  let refuser: HttpServer;
  let early: RawBackend;
  let vhost: number;

  before(async () => {
    echo = await startEcho();
    plain = createHttpServer((req, res) => res.end(`ok ${req.url ?? ''}`));
    plain.on('upgrade', (_req, socket: Socket) => {
      socket.on('error', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    // Answers 101 to anything, asked or not.
    switcher = await rawBackend((s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n'));
    // Waits for a body that never comes, and never answers.
    silent = await rawBackend(() => {});
    // Starts a response and drops the connection in its middle.
    breaker = await rawBackend((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc');
      setImmediate(() => s.destroy());
    });
    // Answers as soon as the head is in, and goes on reading the upload.
    early = await rawBackend((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    // Turns down every Expect: 100-continue without reading the body.
    refuser = createHttpServer((_req, res) => res.end('unexpected'));
    refuser.on('checkContinue', (_req, res) => res.writeHead(417, { 'content-length': '0' }).end());
    refuser.listen(0, '127.0.0.1');
    await once(refuser, 'listening');

    server = await startServer({
      vhostHTTPPort: await freePort(),
      vhostHTTPSPort: await freePort(),
      tcpmuxHTTPConnectPort: await freePort(),
      limits: { vhostIdleTimeout: 1 },
    });
    vhost = server.vhostHttpPort;
    const port = (s: Server | HttpServer): number => (s.address() as AddressInfo).port;
    client = makeClient(server.port, {
      // No idle work connections: every visitor waits for a fresh one, the window a reset falls into.
      extra: { transport: { poolCount: 0 } },
      proxies: [
        { name: 'plain', type: 'http', localPort: port(plain), customDomains: ['plain.example.com'] },
        { name: 'switcher', type: 'http', localPort: switcher.port, customDomains: ['switch.example.com'] },
        { name: 'silent', type: 'http', localPort: silent.port, customDomains: ['silent.example.com'] },
        { name: 'breaker', type: 'http', localPort: breaker.port, customDomains: ['break.example.com'] },
        { name: 'refuser', type: 'http', localPort: port(refuser), customDomains: ['refuse.example.com'] },
        { name: 'early', type: 'http', localPort: early.port, customDomains: ['early.example.com'] },
        { name: 'mux', type: 'tcpmux', multiplexer: 'httpconnect', localPort: echo.port, customDomains: ['mux.example.com'] },
      ],
    });
    await client.start();
    for (const n of ['plain', 'switcher', 'silent', 'breaker', 'refuser', 'early', 'mux']) await client.waitForProxy(n);
  });

  after(async () => {
    client.stop();
    await server.stop();
    plain.close();
    refuser.close();
    for (const b of [switcher, silent, breaker, early]) b.server.close();
    await echo.close();
  });

  async function stillServing(): Promise<void> {
    const r = await vhostRequest(vhost, 'plain.example.com', '/alive');
    assert.equal(r.body.toString(), 'ok /alive');
  }

  test("a 101 to a request without Upgrade is answered 404 (frps's page for a failed backend) and the connection never becomes a tunnel", async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('GET /plain HTTP/1.1\r\nHost: switch.example.com\r\n\r\nSMUGGLED-BYTES');
    await withTimeout(v.closed, 5000, 'the connection to close');
    assert.match(v.text, /^HTTP\/1\.1 404 /);
    assert.doesNotMatch(v.text, /101/);
    await waitFor(() => switcher.open === 0, "the backend's connection to be released");
    assert.equal(switcher.received.length, 1);
    assert.doesNotMatch(switcher.received[0]!, /SMUGGLED/, 'bytes after the head were not relayed raw');
    await stillServing();
  });

  test('a requested Upgrade still becomes a tunnel; a visitor reset in the middle of it harms nobody else', async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('GET /ws HTTP/1.1\r\nHost: plain.example.com\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    await v.waitForText('\r\n\r\n');
    assert.match(v.text, /^HTTP\/1\.1 101 /);
    v.socket.write('through');
    await v.waitForText('through');
    v.socket.resetAndDestroy();
    await stillServing();
  });

  test('a client that half-closes after its request gets its answer and then our FIN (http, https, tcpmux)', async () => {
    const h = await openRawVisitor(vhost, { allowHalfOpen: true });
    h.socket.end('GET /half HTTP/1.1\r\nHost: plain.example.com\r\n\r\n');
    await h.waitForEnd(5000);
    assert.match(h.text, /^HTTP\/1\.1 200 [\s\S]*ok \/half$/);
    for (const port of [server.vhostHttpsPort, server.vhostTcpmuxPort]) {
      const v = await openRawVisitor(port, { allowHalfOpen: true });
      v.socket.end();
      await v.waitForEnd(5000);
      assert.equal(v.text, '');
      v.socket.destroy();
    }
    h.socket.destroy();
  });

  test('a visitor that never closes its side after our last answer is let go after the idle time', async () => {
    await waitFor(() => server.activeConnections === 1, 'only the client connection to be open');
    const v = await openRawVisitor(vhost, { allowHalfOpen: true });
    v.socket.write('GET / HTTP/1.1\r\nHost: nobody.example.com\r\nConnection: close\r\n\r\n');
    await v.waitForEnd(5000);
    assert.match(v.text, /^HTTP\/1\.1 404 /);
    assert.equal(server.activeConnections, 2, 'held after our FIN');
    await waitFor(() => server.activeConnections === 1, 'the half-open visitor to be dropped', 5000);
    v.socket.destroy();
  });

  test('a visitor reset in the middle of its request body releases the backend at once', async () => {
    const before = silent.received.length;
    const v = await openRawVisitor(vhost);
    v.socket.write('POST /upload HTTP/1.1\r\nHost: silent.example.com\r\nContent-Length: 1000\r\n\r\n0123456789');
    await waitFor(() => silent.received.length === before + 1 && silent.received[before]!.includes('0123456789'), 'the backend to get the start of the body');
    v.socket.resetAndDestroy();
    // Not after vhostHTTPTimeout: the backend's connection goes with the visitor.
    await waitFor(() => silent.open === 0, "the backend's connection to be closed", 5000);
    await stillServing();
  });

  test('a backend reset in the middle of its response cuts that visitor only', async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('GET /b HTTP/1.1\r\nHost: break.example.com\r\n\r\n');
    await withTimeout(v.closed, 5000, 'the visitor to be cut');
    // The visitor sees at most the bytes the backend sent before it went: never a completed body or anything after it.
    const cut = v.text === '' || (/^HTTP\/1\.1 200 OK\r\n/.test(v.text) && /\r\n\r\n(a|ab|abc)?$/.test(v.text));
    assert.ok(cut, `unexpected ${JSON.stringify(v.text)}`);
    await stillServing();
  });

  test('Expect: 100-continue turned down by the backend: the visitor gets the 417 and the connection ends at once', async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('POST /up HTTP/1.1\r\nHost: refuse.example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await v.waitForText('\r\n\r\n');
    assert.match(v.text, /^HTTP\/1\.1 417 /);
    // The body that might still come could not be told from a next request: the connection is not reused.
    await v.waitForEnd(5000);
    await stillServing();
  });

  test('an answer that comes before the upload is through does not cut the upload', async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('POST /up HTTP/1.1\r\nHost: early.example.com\r\nContent-Length: 10\r\n\r\nfirst');
    await v.waitForText('\r\n\r\nok');
    v.socket.write('-last');
    await waitFor(() => early.received.some((r) => r.endsWith('\r\n\r\nfirst-last')), 'the whole body to reach the backend');
    v.socket.destroy();
  });

  test('pipelined requests: the good one is answered, the malformed second head gets 400', async () => {
    const v = await openRawVisitor(vhost);
    v.socket.write('GET /first HTTP/1.1\r\nHost: plain.example.com\r\n\r\nGARBAGE WITHOUT A VERSION\r\n\r\n');
    await withTimeout(v.closed, 5000, 'the connection to close after the 400');
    assert.match(v.text, /^HTTP\/1\.1 200 [\s\S]*ok \/first(HTTP\/1\.1 400 [\s\S]*)$/);
    await stillServing();
  });

  test('pipelined requests followed at once by FIN: both are answered in order, then our FIN', async () => {
    const v = await openRawVisitor(vhost, { allowHalfOpen: true });
    v.socket.end('GET /p1 HTTP/1.1\r\nHost: plain.example.com\r\n\r\nGET /p2 HTTP/1.1\r\nHost: plain.example.com\r\n\r\n');
    await v.waitForEnd(5000);
    assert.match(v.text, /^HTTP\/1\.1 200 [\s\S]*ok \/p1HTTP\/1\.1 200 [\s\S]*ok \/p2$/);
    v.socket.destroy();
    await stillServing();
  });

  test('a tcpmux visitor reset while its work connection is fetched leaves no work or local connection behind', async () => {
    await waitFor(() => server.activeConnections === 1, 'only the client connection to be open');
    for (let i = 0; i < 5; i++) {
      const v = await openRawVisitor(server.vhostTcpmuxPort);
      v.socket.write('CONNECT mux.example.com:1 HTTP/1.1\r\nHost: mux.example.com:1\r\n\r\n');
      await v.waitForText('\r\n\r\n');
      v.socket.resetAndDestroy();
    }
    // One that stays proves the route works and gives the resets time to land.
    const ok = await openRawVisitor(server.vhostTcpmuxPort);
    ok.socket.write('CONNECT mux.example.com:1 HTTP/1.1\r\nHost: mux.example.com:1\r\n\r\nping');
    await ok.waitForText('ping');
    ok.socket.destroy();
    await waitFor(() => echo.open === 0 && server.activeConnections === 1, 'every tcpmux connection to be released', 5000);
  });
});
