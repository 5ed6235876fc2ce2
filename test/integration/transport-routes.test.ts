import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { isBurrowError } from '../../src/util/errors.js';
import type { RawServerConfig } from '../helpers/config.js';
import { startConnectProxy, startDnsServer, startReverseProxy, startSocks5Proxy } from '../helpers/proxies.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy } from '../helpers/tunnel.js';

/** Starts a server, an echo service and a client with `extra` settings; checks 1 MiB through the tunnel. */
async function tunnelWorks(clientOpts: Parameters<typeof makeClient>[1], serverOverrides: RawServerConfig = {}): Promise<void> {
  const echo = await startEcho();
  const server = await startServer(serverOverrides);
  const client = makeClient(server.port, { ...clientOpts, proxies: [tcpProxy('echo', echo.port)] });
  try {
    await client.start();
    const port = portOf((await client.waitForProxy('echo')).remoteAddr);
    const data = patternBytes(1024 * 1024, 5);
    assert.ok((await echoThrough(port, data)).equals(data), 'echoed bytes differ');
  } finally {
    client.stop();
    await server.stop();
    await echo.close();
  }
}

describe('client proxies (transport.proxyURL)', () => {
  for (const protocol of ['tcp', 'websocket'] as const) {
    test(`HTTP CONNECT with basic auth carries a ${protocol} tunnel`, async () => {
      const proxy = await startConnectProxy({ auth: 'alice:s3cret' });
      try {
        await tunnelWorks({ protocol, extra: { transport: { proxyURL: `http://alice:s3cret@127.0.0.1:${proxy.port}` } } });
        assert.ok(proxy.seen.length >= 1);
        assert.match(proxy.seen[0]!, new RegExp(`^127\\.0\\.0\\.1:\\d+ Basic ${Buffer.from('alice:s3cret').toString('base64')}$`));
      } finally {
        await proxy.close();
      }
    });
  }

  test('SOCKS5 with user and password carries a tunnel, mux off (one proxied connection per work connection)', async () => {
    const proxy = await startSocks5Proxy({ auth: 'bob:pa:ss' });
    try {
      await tunnelWorks(
        { tcpMux: false, extra: { transport: { proxyURL: `socks5://bob:pa%3Ass@127.0.0.1:${proxy.port}` } } },
        { transport: { tcpMux: false } },
      );
      assert.ok(proxy.seen.length >= 2, `control and work connections go through the proxy: ${proxy.seen.join(', ')}`);
      assert.match(proxy.seen[0]!, /^127\.0\.0\.1:\d+$/);
    } finally {
      await proxy.close();
    }
  });

  for (const refusal of [
    {
      status: '407 Proxy Authentication Required',
      cause: /refused CONNECT 127\.0\.0\.1:\d+: 407 Proxy Authentication Required \(the proxy wants a user and password in the proxy URL\)/,
    },
    { status: '403 Forbidden', cause: /refused CONNECT 127\.0\.0\.1:\d+: 403 Forbidden \(the proxy does not allow this destination\)/ },
  ]) {
    test(`a proxy answering ${refusal.status} is one clear error, retried with backoff; a direct client is unaffected`, async () => {
      const proxy = await startConnectProxy({ refuse: refusal.status });
      const echo = await startEcho();
      const server = await startServer();
      const direct = makeClient(server.port, { proxies: [tcpProxy('direct', echo.port)] });
      const proxied = makeClient(server.port, { loginFailExit: false, extra: { transport: { proxyURL: `http://127.0.0.1:${proxy.port}` } } });
      try {
        await direct.start();
        const retried = once(proxied, 'retry');
        const started = proxied.start();
        const [attempt, delay, reason] = (await retried) as [number, number, string];
        assert.equal(attempt, 1);
        assert.ok(delay >= 1000 && delay <= 1200, `first delay ${delay} ms should be 1 s plus jitter`);
        assert.match(reason, refusal.cause);
        proxied.stop();
        await assert.rejects(started);

        const port = portOf((await direct.waitForProxy('direct')).remoteAddr);
        const data = patternBytes(200_000, 8);
        assert.ok((await echoThrough(port, data)).equals(data));
        assert.equal(server.clients.length, 1);
      } finally {
        direct.stop();
        proxied.stop();
        await server.stop();
        await echo.close();
        await proxy.close();
      }
    });
  }

  test('with loginFailExit the refusal rejects start() with BURROW_PROXY_FAILED', async () => {
    const proxy = await startConnectProxy({ refuse: '407 Proxy Authentication Required' });
    const server = await startServer();
    const client = makeClient(server.port, { extra: { transport: { proxyURL: `http://wrong:creds@127.0.0.1:${proxy.port}` } } });
    try {
      await assert.rejects(client.start(), (err: unknown) => {
        assert.ok(isBurrowError(err, 'BURROW_PROXY_FAILED'), String(err));
        assert.match(err.message, /rejected the user and password in the proxy URL/);
        assert.doesNotMatch(err.message, /creds/, 'the password must not be logged');
        return true;
      });
    } finally {
      await server.stop();
      await proxy.close();
    }
  });
});

describe('websocket through intermediaries and against the wrong peer', () => {
  test('a plain HTTP reverse proxy forwarding upgrades carries websocket (TLS inside), mux on', async () => {
    const server = await startServer();
    const reverse = await startReverseProxy(server.port);
    const echo = await startEcho();
    // The client knows only the reverse proxy's address.
    const client = makeClient(reverse.port, { protocol: 'websocket', proxies: [tcpProxy('echo', echo.port)] });
    try {
      await client.start();
      const port = portOf((await client.waitForProxy('echo')).remoteAddr);
      const data = patternBytes(2 * 1024 * 1024, 6);
      assert.ok((await echoThrough(port, data)).equals(data));
      // frpc's request: the frp path, Host = dialled address, Origin http://<that address>.
      assert.deepEqual(reverse.seen, [`UPGRADE /~!frp host=127.0.0.1:${reverse.port} origin=http://127.0.0.1:${reverse.port}`]);
    } finally {
      client.stop();
      await server.stop();
      await reverse.close();
      await echo.close();
    }
  });

  test('a reverse proxy that routes /~!frp elsewhere: the error names the HTTP status', async () => {
    const server = await startServer();
    const reverse = await startReverseProxy(server.port, '/tunnel');
    const client = makeClient(reverse.port, { protocol: 'websocket' });
    try {
      await assert.rejects(client.start(), (err: unknown) => {
        assert.ok(isBurrowError(err, 'BURROW_WEBSOCKET'), String(err));
        assert.match(err.message, /answered HTTP 404 Not Found to GET \/~!frp/);
        return true;
      });
    } finally {
      await server.stop();
      await reverse.close();
    }
  });

  test('websocket to a TCP service that is not HTTP fails clearly, retried with backoff', async () => {
    const sockets = new Set<Socket>();
    const notHttp = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    notHttp.listen(0, '127.0.0.1');
    await once(notHttp, 'listening');
    const client = makeClient((notHttp.address() as AddressInfo).port, { protocol: 'websocket', loginFailExit: false });
    try {
      const retried = once(client, 'retry');
      const started = client.start();
      const [, , reason] = (await retried) as [number, number, string];
      assert.match(reason, /websocket handshake with 127\.0\.0\.1:\d+ failed: the server did not answer with HTTP/);
      client.stop();
      await assert.rejects(started);
    } finally {
      for (const s of sockets) s.destroy();
      notHttp.close();
    }
  });

  test('a wrong path straight to the server gets 404 and the server logs why', async () => {
    const server = await startServer();
    const socket = (await import('node:net')).connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'GET /other HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*the path is not \/~!frp\n$/);
    await server.stop();
  });
});

describe('server name resolution and local address', () => {
  test('dnsServer resolves serverAddr with the given DNS server', async () => {
    const dns = await startDnsServer({ 'tunnel.burrow.test': '127.0.0.1' });
    try {
      await tunnelWorks({ extra: { serverAddr: 'tunnel.burrow.test', dnsServer: `127.0.0.1:${dns.port}` } });
      assert.ok(dns.seen.includes('tunnel.burrow.test A'), dns.seen.join(', '));
    } finally {
      await dns.close();
    }
  });

  test('a name the DNS server does not know is BURROW_DNS_FAILED naming the name and the server', async () => {
    const dns = await startDnsServer({});
    const server = await startServer();
    const client = makeClient(server.port, { extra: { serverAddr: 'nowhere.burrow.test', dnsServer: `127.0.0.1:${dns.port}` } });
    try {
      await assert.rejects(client.start(), (err: unknown) => {
        assert.ok(isBurrowError(err, 'BURROW_DNS_FAILED'), String(err));
        assert.equal(err.message, `cannot resolve "nowhere.burrow.test" with DNS server 127.0.0.1:${dns.port}: no such name`);
        return true;
      });
    } finally {
      await server.stop();
      await dns.close();
    }
  });

  test('connectServerLocalIP is the source address the server sees', async () => {
    const server = await startServer();
    const client = makeClient(server.port, { extra: { transport: { connectServerLocalIP: '127.0.0.2' } } });
    try {
      await client.start();
      assert.equal(server.clients[0]?.remoteAddress, '127.0.0.2');
    } finally {
      client.stop();
      await server.stop();
    }
  });
});
