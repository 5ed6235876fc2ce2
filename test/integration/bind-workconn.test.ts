import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { rawSocket } from '../helpers/streams.js';
import { dialLogical } from '../helpers/recorded-peer.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, TOKEN } from '../helpers/tunnel.js';

/** A real client with one tcp proxy to an echo service; returns what the test needs of it. */
async function startVictim(tcpMux: boolean) {
  const echo = await startEcho();
  const server = await startServer({ transport: { tcpMux } });
  const client = makeClient(server.port, { tcpMux, proxies: [tcpProxy('victim', echo.port)] });
  await client.start();
  const proxy = await client.waitForProxy('victim');
  const runId = server.clients[0]!.runId;
  return {
    server,
    runId,
    publicPort: portOf(proxy.remoteAddr),
    async stop() {
      client.stop();
      await server.stop();
      await echo.close();
    },
  };
}

/** Visitors through the proxy while a hijacker's work connection waits: each one must still reach the echo. */
async function assertVisitorsReachTheClient(publicPort: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const data = patternBytes(10_000, 20 + i);
    assert.ok((await echoThrough(publicPort, data)).equals(data), `visitor ${i} reached the real client`);
  }
}

describe('bind port: a work connection needs more than a run id', () => {
  test('with tcpMux, NewWorkConn on a session of its own is refused and gets no visitor', async () => {
    const v = await startVictim(true);
    const dialer = await dialLogical(v.server.port, true);
    const stream = await dialer.open();
    await writeMessage(stream, { type: 'NewWorkConn', body: { run_id: v.runId } });
    const visitors = assertVisitorsReachTheClient(v.publicPort);
    const answer = await expectMessage(stream, 'StartWorkConn', 5000);
    assert.match(answer.error ?? '', /no client control found for run id/);
    await visitors;
    dialer.close();
    await v.stop();
  });

  test('without tcpMux, an unsigned NewWorkConn from another address is refused', async () => {
    const v = await startVictim(false);
    const socket = await rawSocket(v.server.port, '127.0.0.2');
    await writeMessage(socket, { type: 'NewWorkConn', body: { run_id: v.runId } });
    const visitors = assertVisitorsReachTheClient(v.publicPort);
    const answer = await expectMessage(socket, 'StartWorkConn', 5000);
    assert.match(answer.error ?? '', /no client control found for run id/);
    await visitors;
    socket.destroy();
    await v.stop();
  });

  test('without tcpMux, a signed NewWorkConn is accepted from any address, a badly signed one refused', async () => {
    const v = await startVictim(false);
    const now = Math.floor(Date.now() / 1000);
    const bad = await rawSocket(v.server.port, '127.0.0.2');
    await writeMessage(bad, { type: 'NewWorkConn', body: { run_id: v.runId, timestamp: now, privilege_key: tokenDigest('not-the-token', now) } });
    assert.match((await expectMessage(bad, 'StartWorkConn', 5000)).error ?? '', /token in NewWorkConn does not match/);
    bad.destroy();

    const good = await rawSocket(v.server.port, '127.0.0.2');
    await writeMessage(good, { type: 'NewWorkConn', body: { run_id: v.runId, timestamp: now, privilege_key: tokenDigest(TOKEN, now) } });
    // Accepted into the pool: the next visitors are served, some of them on this connection.
    const waiting = expectMessage(good, 'StartWorkConn', 10_000);
    const visitor = connect({ host: '127.0.0.1', port: v.publicPort });
    visitor.on('error', () => {});
    const visitors: (typeof visitor)[] = [visitor];
    const start = await Promise.race([
      waiting,
      (async () => {
        // The real client's idle connection goes first; keep visitors coming until ours is taken.
        for (let i = 0; i < 5; i++) {
          const s = connect({ host: '127.0.0.1', port: v.publicPort });
          s.on('error', () => {});
          visitors.push(s);
          await once(s, 'connect');
        }
        return waiting;
      })(),
    ]);
    assert.equal(start.error ?? '', '');
    assert.equal(start.proxy_name, 'victim');
    for (const s of visitors) s.destroy();
    good.destroy();
    await v.stop();
  });

  test('the real client keeps its work connections over tcpMux and without it', async () => {
    for (const tcpMux of [true, false]) {
      const v = await startVictim(tcpMux);
      await assertVisitorsReachTheClient(v.publicPort);
      await v.stop();
    }
  });
});
