import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { rawSocket } from '../helpers/streams.js';
import { invalidConfig } from '../helpers/config.js';
import { rawLogin } from '../helpers/raw-client.js';
import { captureLog, tunnelKit, waitFor } from '../helpers/tunnel.js';

/** Resolves with the ms until the server closed `socket`. */
async function closedWithin(socket: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  socket.resume();
  await Promise.race([once(socket, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms).unref())]);
  return Date.now() - t0;
}

describe('bind port: refused streams are reset and their data dropped', () => {
  test('a NewWorkConn for an unknown run id gets its answer, then a reset, while its data is read and dropped', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const c = await rawLogin(server.port);
    const streams: YamuxStream[] = [];
    const answers: Promise<{ error?: string }>[] = [];
    const resets: Promise<string>[] = [];
    for (let i = 0; i < 8; i++) {
      const s = (await c.dialer.open()) as YamuxStream;
      streams.push(s);
      resets.push(new Promise<string>((resolve) => s.once('error', (e) => resolve(e.message))));
      answers.push(expectMessage(s, 'StartWorkConn', 5000));
      await writeMessage(s, { type: 'NewWorkConn', body: { run_id: 'nope' } });
      // More than the stream's initial window: completes only if the server reads it.
      s.write(Buffer.alloc(320 * 1024, 1));
    }
    for (const answer of await Promise.all(answers)) assert.match(answer.error ?? '', /no client control found for run id \[nope\]/);
    // Reset by the server (an 'error' on our side), not merely half-closed.
    for (const r of await Promise.all(resets)) assert.match(r, /reset by the peer/);
    for (const s of streams) assert.equal(s.writableLength, 0, 'everything written was taken by the server');
    c.close();
    await server.stop();
  });
});

describe('bind port: limits before login', () => {
  test('a session opening more than limits.preAuthStreams streams before login is closed', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({ limits: { preAuthStreams: 3 } }, log.logger);
    const session = new YamuxSession(await rawSocket(server.port), { client: true, keepaliveIntervalMs: 0 });
    const closed = once(session, 'close');
    for (let i = 0; i < 4; i++) session.open().on('error', () => {});
    await closed;
    await log.waitForLine(/too many streams before login/);
    // A real client is not affected.
    const client = makeClient(server.port);
    await client.start();
    client.stop();
    await server.stop();
  });

  test('the stream cap lifts once the session logged in', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ limits: { preAuthStreams: 1 } });
    const c = await rawLogin(server.port);
    for (let i = 0; i < 5; i++) {
      const s = await c.dialer.open();
      await writeMessage(s, { type: 'NewWorkConn', body: { run_id: c.runId } });
    }
    await c.serveWorkConn().catch(() => undefined);
    assert.equal(server.clients.length, 1, 'the session is still logged in');
    c.close();
    await server.stop();
  });

  for (const [what, send] of [
    ['sends nothing', Buffer.alloc(0)],
    ['opens a yamux session and no stream', Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ] as const) {
    test(`a connection that ${what} is dropped at limits.loginTimeout`, async (t) => {
      const { startServer } = tunnelKit(t);
      const log = captureLog();
      const server = await startServer({ limits: { loginTimeout: 1 } }, log.logger);
      const socket = await rawSocket(server.port);
      if (send.length > 0) socket.write(send);
      const ms = await closedWithin(socket, 5000);
      assert.ok(ms >= 900, `closed after ${ms} ms, not before the deadline`);
      await log.waitForLine(/no login within limits\.loginTimeout/);
      await server.stop();
    });
  }

  test('a logged-in client outlives limits.loginTimeout', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ limits: { loginTimeout: 1 } });
    const c = await rawLogin(server.port);
    const t0 = Date.now();
    // Heartbeats as a client sends them, over a span past the deadline.
    while (Date.now() - t0 < 1500) {
      c.send({ type: 'Ping', body: {} });
      const m = await c.next();
      assert.equal(m.type, 'Pong');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(server.clients.length, 1);
    c.close();
    await server.stop();
  });

  test('limits.preAuthPerIP closes the next connection from that address at once; others still log in', async (t) => {
    const { startServer } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({ limits: { preAuthPerIP: 2 } }, log.logger);
    const idle = [await rawSocket(server.port, '127.0.0.2'), await rawSocket(server.port, '127.0.0.2')];
    const third = await rawSocket(server.port, '127.0.0.2');
    await closedWithin(third, 2000);
    await log.waitForLine(/too many unauthenticated connections from this address/);
    // Another address is not affected, and logged-in clients do not count.
    const a = await rawLogin(server.port);
    const b = await rawLogin(server.port);
    const c = await rawLogin(server.port);
    assert.equal(server.clients.length, 3);
    // Once an idle one leaves, its place is free again.
    idle[0]!.destroy();
    await once(idle[0]!, 'close');
    let admitted: Socket | undefined;
    for (let i = 0; i < 50 && !admitted; i++) {
      const s = await rawSocket(server.port, '127.0.0.2');
      const gone = await closedWithin(s, 100).then(
        () => true,
        () => false,
      );
      if (!gone) admitted = s;
    }
    assert.ok(admitted, 'a freed place is given again');
    for (const s of [...idle, admitted]) s.destroy();
    for (const r of [a, b, c]) r.close();
    await server.stop();
  });

  test('without tcpMux, a burst of work connections from a logged-in address is not capped per address', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const { tcpProxy, echoThrough, patternBytes, portOf } = await import('../helpers/tunnel.js');
    const echo = await startEcho();
    const log = captureLog();
    const server = await startServer({ transport: { tcpMux: false }, limits: { preAuthPerIP: 2 } }, log.logger);
    const client = makeClient(server.port, { tcpMux: false, proxies: [tcpProxy('burst', echo.port)] });
    await client.start();
    const port = portOf((await client.waitForProxy('burst')).remoteAddr);
    // Silent connections from the same address fill its per-address share first.
    const idle = [await rawSocket(server.port), await rawSocket(server.port)];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => echoThrough(port, patternBytes(5000, 40 + i))));
    for (const [i, r] of results.entries()) assert.ok(r.equals(patternBytes(5000, 40 + i)), `visitor ${i}`);
    assert.deepEqual(
      log.lines.filter((l) => /too many unauthenticated/.test(l)),
      [],
      'no work connection was turned away',
    );
    for (const s of idle) s.destroy();
    client.stop();
    await server.stop();
    await echo.close();
  });

  test('limits.preAuthTotal caps unauthenticated connections from all addresses', async (t) => {
    const { startServer } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({ limits: { preAuthTotal: 2 } }, log.logger);
    const idle = [await rawSocket(server.port, '127.0.0.2'), await rawSocket(server.port, '127.0.0.3')];
    const third = await rawSocket(server.port, '127.0.0.4');
    await closedWithin(third, 2000);
    await log.waitForLine(/too many unauthenticated connections"/);
    for (const s of idle) s.destroy();
    await server.stop();
  });

  test('a scan of probes that send nothing gives one warning, the rest at debug', async (t) => {
    const { startServer } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({}, log.logger);
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(server.port);
      s.destroy();
      await once(s, 'close');
    }
    await waitFor(() => log.lines.filter((l) => /closed before sending any data/.test(l)).length === 20, 'twenty debug lines');
    const warns = log.lines.filter((l) => /"level":"warn"/.test(l) && /refused/.test(l));
    await server.stop();
    assert.equal(warns.length, 1, warns.join('\n'));
    assert.match(warns[0]!, /connection from \* closed before sending any data/);
  });

  test('refused visitor connections before any login are summed up too', async (t) => {
    const { startServer } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({ transport: { tcpMux: false } }, log.logger);
    for (let i = 0; i < 5; i++) {
      const s = await rawSocket(server.port);
      await writeMessage(s, { type: 'NewVisitorConn', body: { proxy_name: 'nothing-here', run_id: '', timestamp: 0, sign_key: 'x' } });
      const answer = await expectMessage(s, 'NewVisitorConnResp', 5000);
      assert.match(answer.error ?? '', /no stcp or sudp proxy named "nothing-here"/);
      s.destroy();
    }
    const refusals = log.lines.filter((l) => /visitor connection refused/.test(l));
    assert.equal(refusals.length, 6, 'five at debug and the first one at warn');
    assert.equal(refusals.filter((l) => /"level":"warn"/.test(l)).length, 1);
    await server.stop();
  });

  test('with tcpMux, a visitor accepted on a session that never logged in leaves it under the login deadline', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ limits: { loginTimeout: 1 }, userConnTimeout: 60 });
    const owner = await rawLogin(server.port);
    const registered = await owner.newProxy({ proxy_name: 'sec', proxy_type: 'stcp', sk: 'k' });
    assert.equal((registered.body as { error?: string }).error ?? '', '');
    // A session of its own, with no Login: its only credential is the secret key.
    const socket = await rawSocket(server.port);
    const session = new YamuxSession(socket, { client: true, keepaliveIntervalMs: 0 });
    session.on('error', () => {});
    const visitor = session.open();
    visitor.on('error', () => {});
    const ts = Math.floor(Date.now() / 1000);
    await writeMessage(visitor, { type: 'NewVisitorConn', body: { proxy_name: 'sec', run_id: '', sign_key: tokenDigest('k', ts), timestamp: ts } });
    const answer = await expectMessage(visitor, 'NewVisitorConnResp', 5000);
    assert.equal(answer.error ?? '', '', 'the visitor itself is accepted');
    // Well before userConnTimeout ends the visitor's wait, the deadline ends the session.
    assert.ok((await closedWithin(socket, 5000)) < 5000);
    owner.close();
    await server.stop();
  });

  test('a bad limits value is refused naming the key', async (t) => {
    const { startServer } = tunnelKit(t);
    await assert.rejects(startServer({ limits: { preAuthPerIP: 0 } }), /limits\.preAuthPerIP/);
    await assert.rejects(startServer(invalidConfig({ limits: { loginTimeout: 'soon' } })), /limits\.loginTimeout/);
  });
});
