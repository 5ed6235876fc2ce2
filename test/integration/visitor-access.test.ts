import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import type { BurrowClient } from '../../src/client/client.js';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { CfbDecryptor, CfbEncryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import type { NewVisitorConn } from '../../src/protocol/messages.js';
import { withTimeout } from '../../src/util/timeout.js';
import { visitor, type RawProxy } from '../helpers/config.js';
import { rawLogin, type RawClient } from '../helpers/raw-client.js';
import { readBytes } from '../helpers/streams.js';
import { captureLog, echoThrough, freePort, makeClient, patternBytes, startEcho, startServer } from '../helpers/tunnel.js';

const SK = 'alice-secret';

function stcp(name: string, localPort: number, allowUsers?: string[]): RawProxy {
  return { name, type: 'stcp', localIP: '127.0.0.1', localPort, secretKey: SK, ...(allowUsers ? { allowUsers } : {}) };
}

async function visitorClient(
  serverPort: number,
  user: string,
  targets: Array<{ name: string; serverName: string; serverUser?: string }>,
): Promise<{ client: BurrowClient; ports: Record<string, number> }> {
  const ports: Record<string, number> = {};
  const visitors = [];
  for (const t of targets) {
    ports[t.name] = await freePort();
    visitors.push(visitor('stcp', t.name, t.serverName, SK, ports[t.name]!, t.serverUser === undefined ? {} : { serverUser: t.serverUser }));
  }
  const client = makeClient(serverPort, { extra: { user, visitors } });
  await client.start();
  // A port taken between freePort() and the bind would show here, not as a refused visitor later.
  assert.deepEqual(
    client.visitors.map((v) => v.err),
    targets.map(() => ''),
  );
  return { client, ports };
}

async function works(port: number): Promise<boolean> {
  const data = patternBytes(2000, port);
  const back = await echoThrough(port, data).catch(() => Buffer.alloc(0));
  return back.equals(data);
}

test('allowUsers: empty = the owner’s own user, a list names users, "*" lets anyone in', async () => {
  const log = captureLog();
  const echo = await startEcho();
  const server = await startServer({}, log.logger);
  const owner = makeClient(server.port, {
    extra: { user: 'alice' },
    proxies: [stcp('mine', echo.port), stcp('for-bob', echo.port, ['bob']), stcp('anyone', echo.port, ['*'])],
  });
  const clients: BurrowClient[] = [owner];
  try {
    await owner.start();
    for (const p of ['mine', 'for-bob', 'anyone']) await owner.waitForProxy(p);
    const bob = await visitorClient(server.port, 'bob', [
      { name: 'bob-for-bob', serverName: 'for-bob', serverUser: 'alice' },
      { name: 'bob-mine', serverName: 'mine', serverUser: 'alice' },
    ]);
    const carol = await visitorClient(server.port, 'carol', [
      { name: 'carol-for-bob', serverName: 'for-bob', serverUser: 'alice' },
      { name: 'carol-anyone', serverName: 'anyone', serverUser: 'alice' },
    ]);
    // No serverUser: the visitor's own user is the owner (frp's rule), here alice on another machine.
    const alice2 = await visitorClient(server.port, 'alice', [{ name: 'alice-mine', serverName: 'mine' }]);
    clients.push(bob.client, carol.client, alice2.client);

    assert.equal(await works(bob.ports['bob-for-bob']!), true);
    assert.equal(await works(bob.ports['bob-mine']!), false);
    assert.match(await log.waitForLine(/visitor connection refused.*"proxy":"alice.mine".*BURROW_VISITOR_NOT_ALLOWED/), /user \[bob\] not allowed/);
    assert.equal(await works(carol.ports['carol-for-bob']!), false);
    assert.equal(await works(carol.ports['carol-anyone']!), true);
    assert.equal(await works(alice2.ports['alice-mine']!), true);
  } finally {
    for (const c of clients) c.stop();
    await server.stop();
    await echo.close();
  }
});

/** Sends one NewVisitorConn on a fresh logical connection and returns the answer and the stream. */
async function visit(raw: RawClient, body: NewVisitorConn): Promise<{ error: string; stream: Duplex }> {
  const stream = await raw.dialer.open();
  await writeMessage(stream, { type: 'NewVisitorConn', body });
  const resp = await expectMessage(stream, 'NewVisitorConnResp', 5000);
  return { error: resp.error ?? '', stream };
}

function signed(proxyName: string, runId: string, sk: string, timestamp = Math.floor(Date.now() / 1000)): NewVisitorConn {
  return { run_id: runId, proxy_name: proxyName, sign_key: tokenDigest(sk, timestamp), timestamp };
}

test('bad visitor connections are refused with a coded log line and close only themselves', async () => {
  const log = captureLog();
  const echo = await startEcho();
  const server = await startServer({}, log.logger);
  const owner = makeClient(server.port, { proxies: [stcp('vault', echo.port, ['*'])] });
  const raw = await rawLogin(server.port);
  try {
    await owner.start();
    await owner.waitForProxy('vault');

    const unknown = await visit(raw, signed('nothing-here', raw.runId, SK));
    assert.match(unknown.error, /no stcp or sudp proxy named "nothing-here"/);
    await log.waitForLine(/visitor connection refused.*BURROW_VISITOR_UNKNOWN_PROXY/);

    const wrongKey = await visit(raw, signed('vault', raw.runId, 'not-the-key'));
    assert.match(wrongKey.error, /auth failed/);
    await log.waitForLine(/visitor connection refused.*BURROW_AUTH_FAILED/);

    // Correctly signed, but an hour old: a replayed message. frp would accept it.
    const old = await visit(raw, signed('vault', raw.runId, SK, Math.floor(Date.now() / 1000) - 3600));
    assert.match(old.error, /timestamp is 3\d{3} s away from the server clock/);
    await log.waitForLine(/visitor connection refused.*BURROW_VISITOR_CLOCK_SKEW/);

    const stranger = await visit(raw, signed('vault', 'ffffffffffffffff', SK));
    assert.match(stranger.error, /no client control found for run id \[ffffffffffffffff\]/);
    await log.waitForLine(/visitor connection refused.*BURROW_VISITOR_REFUSED/);

    for (const refused of [unknown, wrongKey, old, stranger]) {
      await withTimeout(new Promise((r) => (refused.stream.destroyed ? r(null) : refused.stream.once('close', r))), 5000, 'a refused stream to close');
    }

    // Accepted with use_encryption: the visitor hop is AES-128-CFB keyed by sk, as frp does.
    const ok = await visit(raw, { ...signed('vault', raw.runId, SK), use_encryption: true });
    assert.equal(ok.error, '');
    const key = deriveCipherKey(SK);
    const plain = patternBytes(3000, 4);
    ok.stream.write(new CfbEncryptor(key).update(plain));
    const back = new CfbDecryptor(key).update(await readBytes(ok.stream, 16 + plain.length));
    assert.ok(back.equals(plain), 'the echo comes back encrypted with the sk key');
    ok.stream.destroy();

    // A real visitor still gets through.
    const port = await freePort();
    const visitor = makeClient(server.port, { extra: { visitors: [{ name: 'v', type: 'stcp', serverName: 'vault', secretKey: SK, bindPort: port }] } });
    await visitor.start();
    assert.equal(await works(port), true);
    visitor.stop();
  } finally {
    raw.close();
    owner.stop();
    await server.stop();
    await echo.close();
  }
});
