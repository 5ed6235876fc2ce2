import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { isBurrowError } from '../../src/util/errors.js';
import { echoThrough, patternBytes, portOf, tcpProxy, tunnelKit, waitFor } from '../helpers/tunnel.js';

describe('bad input and failures', () => {
  test('a wrong token is refused with a clear error and the client gives up (loginFailExit)', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer();
    const client = makeClient(server.port, { token: 'wrong' });
    await assert.rejects(client.start(), (err: unknown) => {
      assert.ok(isBurrowError(err, 'BURROW_LOGIN_FAILED'));
      assert.match(err.message, /token/);
      return true;
    });
    assert.equal(server.clients.length, 0);
    await server.stop();
  });

  test('a wrong token with loginFailExit=false keeps retrying with backoff', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer();
    const client = makeClient(server.port, { token: 'wrong', loginFailExit: false });
    const retried = once(client, 'retry');
    const started = client.start();
    const [attempt, delay, reason] = (await retried) as [number, number, string];
    assert.equal(attempt, 1);
    assert.ok(delay >= 1000 && delay <= 1200, `first delay ${delay} ms should be 1 s plus jitter`);
    assert.match(reason, /token/);
    client.stop();
    await assert.rejects(started);
    await server.stop();
  });

  test('a second proxy asking for a busy port gets an error while the first keeps serving', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const busyPort = (blocker.address() as AddressInfo).port;
    const server = await startServer();
    const client = makeClient(server.port, {
      proxies: [tcpProxy('good', echo.port), tcpProxy('busy', echo.port, { remotePort: busyPort })],
    });
    await client.start();
    const good = await client.waitForProxy('good');
    await assert.rejects(client.waitForProxy('busy'), /remote port \d+ is already in use/);
    assert.equal(client.status('busy')?.phase, 'start error');
    const data = patternBytes(100_000, 3);
    assert.ok((await echoThrough(portOf(good.remoteAddr), data)).equals(data));
    client.stop();
    await server.stop();
    blocker.close();
    await echo.close();
  });

  test('a duplicate proxy name from another client is refused', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const server = await startServer();
    const a = makeClient(server.port, { proxies: [tcpProxy('same', echo.port)] });
    const b = makeClient(server.port, { proxies: [tcpProxy('same', echo.port)] });
    await a.start();
    await a.waitForProxy('same');
    await b.start();
    await assert.rejects(b.waitForProxy('same'), /proxy "same" already exists/);
    a.stop();
    b.stop();
    await server.stop();
    await echo.close();
  });

  test('allowPorts and maxPortsPerClient are enforced per proxy', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const server = await startServer({ allowPorts: [{ single: 1 }], maxPortsPerClient: 1 });
    const client = makeClient(server.port, {
      proxies: [tcpProxy('outside', echo.port, { remotePort: 40000 })],
    });
    await client.start();
    await assert.rejects(client.waitForProxy('outside'), /remote port 40000 is not allowed/);
    client.stop();
    await server.stop();
    await echo.close();
  });

  for (const garbage of [
    { what: 'an unknown message type', bytes: Buffer.from('zzzzzzzzzzzzzzzz') },
    { what: 'an oversize frame', bytes: Buffer.from([0x6f, 0, 0, 0, 0, 0x7f, 0, 0, 0]) },
    { what: 'a frame with broken JSON', bytes: Buffer.concat([Buffer.from([0x6f, 0, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('{oops')]) },
  ]) {
    test(`${garbage.what} closes only that connection; another client's tunnel keeps working`, async (t) => {
      const { startEcho, startServer, makeClient } = tunnelKit(t);
      const echo = await startEcho();
      const server = await startServer({ transport: { tcpMux: false } });
      const client = makeClient(server.port, { tcpMux: false, tls: false, proxies: [tcpProxy('echo', echo.port)] });
      await client.start();
      const port = portOf((await client.waitForProxy('echo')).remoteAddr);

      const bad: Socket = connect({ host: '127.0.0.1', port: server.port });
      await once(bad, 'connect');
      bad.on('error', () => {});
      bad.write(garbage.bytes);
      await once(bad, 'close');

      const data = patternBytes(256 * 1024, 9);
      assert.ok((await echoThrough(port, data)).equals(data));
      assert.equal(server.clients.length, 1);
      client.stop();
      await server.stop();
      await echo.close();
    });
  }

  test('garbage inside a yamux session closes that session only', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const server = await startServer();
    const client = makeClient(server.port, { tls: false, proxies: [tcpProxy('echo', echo.port)] });
    await client.start();
    const port = portOf((await client.waitForProxy('echo')).remoteAddr);
    const bad = connect({ host: '127.0.0.1', port: server.port });
    await once(bad, 'connect');
    bad.on('error', () => {});
    // version 9 is not yamux
    bad.write(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
    await once(bad, 'close');
    const data = patternBytes(64 * 1024, 4);
    assert.ok((await echoThrough(port, data)).equals(data));
    client.stop();
    await server.stop();
    await echo.close();
  });

  test('the client reconnects after the server restarts and the tunnel works again', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const first = await startServer();
    const bindPort = first.port;
    const client = makeClient(bindPort, { proxies: [tcpProxy('echo', echo.port)] });
    await client.start();
    await client.waitForProxy('echo');
    const offline = once(client, 'offline');
    await first.stop();
    await offline;

    const online = once(client, 'online');
    const second = await startServer({ bindPort });
    await online;
    const status = await client.waitForProxy('echo');
    const data = patternBytes(512 * 1024, 5);
    assert.ok((await echoThrough(portOf(status.remoteAddr), data)).equals(data));
    client.stop();
    await second.stop();
    await echo.close();
  });

  for (const side of ['visitor', 'local service'] as const) {
    test(`the ${side} hanging up mid-stream closes both sockets and leaks nothing`, async (t) => {
      const { startServer, makeClient } = tunnelKit(t);
      const local = new Set<Socket>();
      // The local service streams without pause until its socket goes away.
      const service = createServer({ allowHalfOpen: true }, (s) => {
        local.add(s);
        s.on('close', () => local.delete(s));
        s.on('error', () => {});
        const chunk = patternBytes(64 * 1024, 2);
        const pump = (): void => {
          while (!s.destroyed && s.write(chunk));
        };
        s.on('drain', pump);
        pump();
        if (side === 'local service') s.once('data', () => s.destroy());
      });
      service.listen(0, '127.0.0.1');
      await once(service, 'listening');
      const server = await startServer();
      const client = makeClient(server.port, { proxies: [tcpProxy('hang', (service.address() as AddressInfo).port)] });
      await client.start();
      const port = portOf((await client.waitForProxy('hang')).remoteAddr);
      const baseline = server.activeConnections;

      const visitor = connect({ host: '127.0.0.1', port });
      visitor.on('error', () => {});
      await once(visitor, 'data');
      assert.equal(local.size, 1);
      if (side === 'visitor') visitor.destroy();
      else visitor.write('go');
      await once(visitor, 'close');
      await waitFor(() => local.size === 0, 'the local socket to close');
      await waitFor(() => server.activeConnections === baseline, 'server connections back to the baseline');
      assert.equal(server.findProxy('hang')?.activeConnections, 0);

      client.stop();
      await server.stop();
      await waitFor(() => server.activeConnections === 0, 'server connections to drop to zero');
      service.close();
    });
  }
});
