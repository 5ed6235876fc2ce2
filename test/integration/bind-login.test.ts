import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { rawLogin } from '../helpers/raw-client.js';
import { echoThrough, patternBytes, portOf, tcpProxy, TOKEN, tunnelKit, waitFor } from '../helpers/tunnel.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('bind port: a captured Login cannot be replayed later', () => {
  test('a Login signed 1000 s ago is refused with the skew in the reason; 100 s ago is fine', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    await assert.rejects(rawLogin(server.port, { timestamp: now() - 1000 }), /clocks of client and server differ by 10\d\d seconds \(at most 900 allowed\)/);
    await assert.rejects(rawLogin(server.port, { timestamp: now() + 1000 }), /differ by \d+ seconds/);
    assert.equal(server.clients.length, 0);
    const ok = await rawLogin(server.port, { timestamp: now() - 100 });
    assert.equal(server.clients.length, 1);
    ok.close();
    await server.stop();
  });

  test('auth.maxClockSkew = 0 turns the window off, as frp', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ auth: { token: TOKEN, maxClockSkew: 0 } });
    const old = await rawLogin(server.port, { timestamp: now() - 10 * 86_400 });
    assert.equal(server.clients.length, 1);
    old.close();
    await server.stop();
  });

  test('a wrong token is still reported as a token mismatch, not a clock problem', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    await assert.rejects(rawLogin(server.port, { token: 'wrong', timestamp: now() - 5000 }), /token in login does not match/);
    await server.stop();
  });

  test('with NewWorkConns in additionalScopes, an old signed NewWorkConn is refused', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ auth: { token: TOKEN, additionalScopes: ['NewWorkConns'], maxClockSkew: 60 } });
    const c = await rawLogin(server.port);
    const work = await c.dialer.open();
    const ts = now() - 3600;
    await writeMessage(work, { type: 'NewWorkConn', body: { run_id: c.runId, timestamp: ts, privilege_key: tokenDigest(TOKEN, ts) } });
    const answer = await expectMessage(work, 'StartWorkConn', 5000);
    assert.match(answer.error ?? '', /NewWorkConn refused, the clocks of client and server differ by 36\d\d seconds \(at most 60 allowed\)/);
    c.close();
    await server.stop();
  });

  test('with HeartBeats in additionalScopes, an old signed Ping gets a Pong with the skew', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ auth: { token: TOKEN, additionalScopes: ['HeartBeats'] } });
    const c = await rawLogin(server.port);
    const ts = now() - 2000;
    c.send({ type: 'Ping', body: { timestamp: ts, privilege_key: tokenDigest(TOKEN, ts) } });
    const pong = await c.next();
    assert.equal(pong.type, 'Pong');
    assert.match((pong.body as { error?: string }).error ?? '', /heartbeat refused, the clocks of client and server differ by 20\d\d seconds/);
    const fresh = now();
    c.send({ type: 'Ping', body: { timestamp: fresh, privilege_key: tokenDigest(TOKEN, fresh) } });
    const good = await c.next();
    assert.equal((good.body as { error?: string }).error ?? '', '');
    c.close();
    await server.stop();
  });

  test('a bad auth.maxClockSkew is refused naming the key', async (t) => {
    const { startServer } = tunnelKit(t);
    await assert.rejects(startServer({ auth: { token: TOKEN, maxClockSkew: -1 } }), /auth\.maxClockSkew/);
  });
});

describe('bind port: what the log shows of a client', () => {
  test('info lines carry a short run id and escaped peer strings', async (t) => {
    const { startServer } = tunnelKit(t);
    const { captureLog } = await import('../helpers/tunnel.js');
    const log = captureLog();
    const server = await startServer({}, log.logger);
    const c = await rawLogin(server.port, { user: 'eve\nINFO client logged in user=admin' });
    const line = await log.waitForLine(/client logged in/);
    assert.ok(!line.includes(c.runId), 'the full run id is not logged');
    assert.ok(line.includes(`${c.runId.slice(0, 8)}…`));
    assert.ok(line.includes('eve\\nINFO'), line);
    assert.ok(!line.includes('\n'), 'the forged line stays on this one');
    c.close();
    await server.stop();
  });
});

describe('bind port: a run id belongs to its user', () => {
  test("another user's Login with a live run id gets a run id of its own and the live client keeps serving", async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const server = await startServer();
    const alice = makeClient(server.port, { proxies: [tcpProxy('alice-echo', echo.port)], extra: { user: 'alice' } });
    await alice.start();
    const proxy = await alice.waitForProxy('alice-echo');
    const runId = server.clients[0]!.runId;
    const bob = await rawLogin(server.port, { user: 'bob', runId });
    const anonymous = await rawLogin(server.port, { runId });
    assert.notEqual(bob.runId, runId);
    assert.notEqual(anonymous.runId, runId);
    assert.equal(server.clients.length, 3);
    assert.equal(server.clients.find((c) => c.runId === runId)?.user, 'alice');
    const data = patternBytes(30_000, 5);
    assert.ok((await echoThrough(portOf(proxy.remoteAddr), data)).equals(data));
    bob.close();
    anonymous.close();
    alice.stop();
    await server.stop();
    await echo.close();
  });

  test('the same user may take its run id over (a reconnect), as frp', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const first = await rawLogin(server.port, { user: 'carol' });
    const second = await rawLogin(server.port, { user: 'carol', runId: first.runId });
    assert.equal(second.runId, first.runId);
    await waitFor(() => server.clients.length === 1, 'the old control to be replaced');
    assert.equal(server.clients[0]!.user, 'carol');
    first.close();
    second.close();
    await server.stop();
  });

  test('a run id another user took while its owner was away does not lock the owner out', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const alice = await rawLogin(server.port, { user: 'alice' });
    const runId = alice.runId;
    alice.close();
    await waitFor(() => server.clients.length === 0, "alice's control to end");
    const bob = await rawLogin(server.port, { user: 'bob', runId });
    assert.equal(bob.runId, runId, 'a free run id is free to take, as in frp');
    const back = await rawLogin(server.port, { user: 'alice', runId });
    assert.notEqual(back.runId, runId, 'alice is let in, under a new run id');
    assert.equal(server.clients.length, 2);
    bob.close();
    back.close();
    await server.stop();
  });
});

describe('bind port: one client id per user online, as frps', () => {
  test("a second Login with the same user and clientID is refused with frps's text; the first stays", async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const first = await rawLogin(server.port, { user: 'dave', clientId: 'laptop' });
    await assert.rejects(
      rawLogin(server.port, { user: 'dave', clientId: 'laptop' }),
      /login refused: client_id \[laptop\] for user \[dave\] is already online/,
    );
    assert.deepEqual(
      server.clients.map((c) => c.runId),
      [first.runId],
      'the session already online keeps its place',
    );
    // Another user, another client id, or a reconnect under the same run id are not conflicts.
    const other = await rawLogin(server.port, { user: 'erin', clientId: 'laptop' });
    const second = await rawLogin(server.port, { user: 'dave', clientId: 'desktop' });
    const again = await rawLogin(server.port, { user: 'dave', clientId: 'laptop', runId: first.runId });
    assert.equal(again.runId, first.runId);
    for (const c of [first, other, second, again]) c.close();
    await server.stop();
  });

  test("with detailedErrorsToClient = false the refusal is frps's summary", async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ detailedErrorsToClient: false });
    const first = await rawLogin(server.port, { user: 'dave', clientId: 'laptop' });
    await assert.rejects(rawLogin(server.port, { user: 'dave', clientId: 'laptop' }), /login refused: register control error$/);
    first.close();
    await server.stop();
  });
});
