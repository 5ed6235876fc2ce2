import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BurrowClient } from '../../src/client/client.js';
import { captureLog, echoThrough, freePort, makeClient, patternBytes, startEcho, startServer, waitFor } from '../helpers/tunnel.js';
import { startStunServer } from '../helpers/stun-server.js';

const SK = 'p2p-secret';

test('xtcp on loopback: the peers punch through, the visitor’s connections flow directly, the server carries none of it', async () => {
  const log = captureLog();
  const echo = await startEcho();
  const stun = await startStunServer();
  const server = await startServer({}, log.logger);
  const stunServer = `127.0.0.1:${stun.port}`;
  const owner = makeClient(server.port, {
    proxies: [
      { name: 'desk', type: 'xtcp', localIP: '127.0.0.1', localPort: echo.port, secretKey: SK, transport: { useEncryption: true, useCompression: true } },
    ],
    extra: { natHoleStunServer: stunServer },
  });
  const port = await freePort();
  const visitor = makeClient(server.port, {
    extra: {
      natHoleStunServer: stunServer,
      visitors: [
        { name: 'to-desk', type: 'xtcp', serverName: 'desk', secretKey: SK, bindPort: port, transport: { useEncryption: true, useCompression: true } },
      ],
    },
  });
  try {
    await owner.start();
    await owner.waitForProxy('desk');
    await visitor.start();
    const data = patternBytes(1024 * 1024, 11);
    assert.ok((await echoThrough(port, data)).equals(data), '1 MiB through the tunnel');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => echoThrough(port, patternBytes(20_000 + i, i)).then((b) => b.equals(patternBytes(20_000 + i, i)))),
    );
    assert.equal(results.filter(Boolean).length, 10, '10 connections at once share the tunnel');
    await log.waitForLine(/xtcp peers introduced.*"proxy":"desk"/);
    await log.waitForLine(/xtcp hole punching result.*"success":true/);
    const proxy = server.findProxy('desk');
    assert.equal(proxy?.traffic.bytesIn, 0, 'no tunnel byte went through the server');
    assert.ok(stun.requests() >= 2, 'both sides asked the STUN server');
  } finally {
    visitor.stop();
    owner.stop();
    await server.stop();
    stun.close();
    await echo.close();
  }
});

// The exact wait (fallbackTimeoutMs, then straight to the fallback until minRetryInterval)
// is driven by a fake clock in test/unit/visitor-xtcp.test.ts; here the real client and server carry the bytes.
test('xtcp falls back to the stcp visitor when punching fails', async () => {
  const log = captureLog();
  const echo = await startEcho();
  const server = await startServer({}, log.logger);
  // Nobody answers STUN and local addresses are off: neither side has an address to punch to.
  const deadStun = `127.0.0.1:${await freePort()}`;
  const clients: BurrowClient[] = [];
  try {
    const owner = makeClient(server.port, {
      proxies: [
        { name: 'desk', type: 'xtcp', localPort: echo.port, secretKey: SK, natTraversal: { disableAssistedAddrs: true } },
        { name: 'desk-relay', type: 'stcp', localPort: echo.port, secretKey: SK },
      ],
      extra: { natHoleStunServer: deadStun },
    });
    clients.push(owner);
    await owner.start();
    await owner.waitForProxy('desk');
    await owner.waitForProxy('desk-relay');
    const port = await freePort();
    const visitor = makeClient(server.port, {
      extra: {
        natHoleStunServer: deadStun,
        visitors: [
          { name: 'relay', type: 'stcp', serverName: 'desk-relay', secretKey: SK, bindPort: -1 },
          {
            name: 'p2p',
            type: 'xtcp',
            serverName: 'desk',
            secretKey: SK,
            bindPort: port,
            fallbackTo: 'relay',
            fallbackTimeoutMs: 300,
            natTraversal: { disableAssistedAddrs: true },
          },
        ],
      },
    });
    clients.push(visitor);
    await visitor.start();
    const data = patternBytes(200_000, 3);
    assert.ok((await echoThrough(port, data)).equals(data), 'served through the fallback');
    await log.waitForLine(/visitor connection accepted.*"proxy":"desk-relay"/);
    // The failed attempt is not retried before minRetryInterval: the next connection falls back too.
    assert.ok((await echoThrough(port, data)).equals(data));
  } finally {
    for (const c of clients) c.stop();
    await server.stop();
    await echo.close();
  }
});

test('xtcp: a wrong secret key or an unknown proxy is refused by the server with a coded reason', async () => {
  const log = captureLog();
  const echo = await startEcho();
  const stun = await startStunServer();
  const server = await startServer({}, log.logger);
  const stunServer = `127.0.0.1:${stun.port}`;
  const owner = makeClient(server.port, {
    proxies: [{ name: 'desk', type: 'xtcp', localPort: echo.port, secretKey: SK }],
    extra: { natHoleStunServer: stunServer },
  });
  const [p1, p2] = [await freePort(), await freePort()];
  const visitor = makeClient(server.port, {
    extra: {
      natHoleStunServer: stunServer,
      visitors: [
        { name: 'wrong', type: 'xtcp', serverName: 'desk', secretKey: 'guess', bindPort: p1 },
        { name: 'nobody', type: 'xtcp', serverName: 'nothing', secretKey: SK, bindPort: p2 },
      ],
    },
  });
  try {
    await owner.start();
    await owner.waitForProxy('desk');
    await visitor.start();
    const [a, b] = await Promise.all([
      echoThrough(p1, Buffer.from('x')).catch(() => Buffer.alloc(0)),
      echoThrough(p2, Buffer.from('x')).catch(() => Buffer.alloc(0)),
    ]);
    assert.equal(a.length + b.length, 0, 'nothing answered');
    await log.waitForLine(/xtcp visitor refused.*BURROW_AUTH_FAILED/);
    await log.waitForLine(/xtcp visitor refused.*BURROW_VISITOR_UNKNOWN_PROXY/);
    await waitFor(() => server.findProxy('desk')?.activeConnections === 0, 'no session left open');
  } finally {
    visitor.stop();
    owner.stop();
    await server.stop();
    stun.close();
    await echo.close();
  }
});
