import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ClientState } from '../../src/client/client.js';
import { isBurrowError } from '../../src/util/errors.js';
import { makeClient, startServer } from '../helpers/tunnel.js';

test('the client state goes idle → online → reconnecting → online → stopped, with the retries counted', async () => {
  const first = await startServer();
  const bindPort = first.port;
  const client = makeClient(bindPort);
  assert.equal(client.state, ClientState.Idle);
  await client.start();
  assert.equal(client.state, ClientState.Online);
  assert.equal(client.reconnectAttempts, 0);
  assert.equal(client.lastError, '');

  const offline = once(client, 'offline');
  const retried = once(client, 'retry');
  await first.stop();
  const [reason] = (await offline) as [string];
  assert.equal(client.state, ClientState.Reconnecting);
  // The first re-login goes at once; its failure is attempt 1, and the next waits the first backoff step.
  const [attempt, delay] = (await retried) as [number, number, string];
  assert.equal(attempt, 1);
  assert.ok(delay >= 1000 && delay <= 1200, `first delay ${delay} ms should be 1 s plus jitter`);
  assert.equal(client.state, ClientState.Reconnecting);
  assert.notEqual(client.lastError, '');
  assert.notEqual(reason, '');

  const online = once(client, 'online');
  const second = await startServer({ bindPort });
  await online;
  assert.equal(client.state, ClientState.Online);
  assert.equal(client.lastError, '');
  assert.ok(client.reconnectAttempts >= 2, `attempts are counted over the client's life (${client.reconnectAttempts})`);

  client.stop();
  assert.equal(client.state, ClientState.Stopped);
  await assert.rejects(client.start(), (err: unknown) => isBurrowError(err, 'BURROW_CLOSED'));
  await second.stop();
});

test('stop() while the first login waits for a silent server ends start() at once', async () => {
  // Accepts the connection and never answers: the login would wait for its own timeout.
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const client = makeClient((silent.address() as AddressInfo).port, { tls: false, tcpMux: false });
  const started = client.start();
  await once(silent, 'connection');
  const t0 = Date.now();
  client.stop();
  await assert.rejects(started);
  assert.ok(Date.now() - t0 < 5000, `start() ended ${Date.now() - t0} ms after stop()`);
  assert.equal(client.state, ClientState.Stopped);
  for (const s of sockets) s.destroy();
  silent.close();
});
