import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { silentLogger } from '../../src/util/logger.js';
import { clientConfig } from '../helpers/config.js';
import { captureLog, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor } from '../helpers/tunnel.js';

test('a proxy refused because its name is taken comes up once the other client is gone', async () => {
  const echo = await startEcho();
  const server = await startServer();
  const first = makeClient(server.port, { proxies: [tcpProxy('shared', echo.port)] });
  const second = makeClient(server.port, { proxies: [tcpProxy('shared', echo.port)], client: { proxyRetry: { firstMs: 400, maxMs: 400 } } });
  const admin = await startClientAdmin({ client: second, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  try {
    await first.start();
    await first.waitForProxy('shared');

    const refused = new Promise<void>((resolve) => {
      second.on('proxy', (s: { name: string; phase: string }) => s.phase === 'start error' && resolve());
    });
    await second.start();
    await refused;
    const status = second.status('shared')!;
    assert.match(status.err, /proxy "shared" already exists/);
    assert.ok(status.nextRetryAt > Date.now() - 50, 'the next attempt is planned');

    // The admin status shows the error and when the next attempt goes out.
    const body = (await (await fetch(`http://127.0.0.1:${admin.port}/api/status`)).json()) as Record<string, Array<Record<string, string>>>;
    const row = body.tcp![0]!;
    assert.equal(row.status, 'start error');
    assert.match(row.err!, /already exists/);
    assert.ok(Date.parse(row.next_retry!) >= Date.now() - 1000, `next_retry is a time: ${row.next_retry}`);

    first.stop();
    await waitFor(() => second.status('shared')?.phase === 'running', 'the second client to register the freed name', 15_000);
    const running = second.status('shared')!;
    assert.equal(running.err, '');
    assert.equal(running.nextRetryAt, 0);
    const data = patternBytes(20_000, 7);
    assert.ok((await echoThrough(portOf(running.remoteAddr), data)).equals(data), 'the tunnel serves again');
  } finally {
    first.stop();
    second.stop();
    await admin.close();
    await server.stop();
    await echo.close();
  }
});

test('a registration sent again before the first answer keeps the proxy running when the duplicate is refused', async () => {
  const echo = await startEcho();
  const server = await startServer();
  const log = captureLog();
  // No wait for an answer at all: NewProxy goes out a second time before the server can have answered the first.
  const client = new BurrowClient(clientConfig(server.port, { proxies: [tcpProxy('late', echo.port)] }), log.logger, { proxyRetry: { answerMs: 0 } });
  try {
    await client.start();
    // The client's answer to the refused duplicate, whichever way it took it.
    const line = await log.waitForLine(/duplicate registration refused|proxy failed to start/);
    assert.match(line, /duplicate registration refused.*late.*already exists/);
    const s = client.status('late')!;
    assert.equal(s.phase, 'running');
    assert.equal(s.err, '');
    const data = patternBytes(5000, 9);
    assert.ok((await echoThrough(portOf(s.remoteAddr), data)).equals(data));
  } finally {
    client.stop();
    await server.stop();
    await echo.close();
  }
});
