import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dialLink } from '../../src/cluster/link-handshake.js';
import { datagramFrame } from '../../src/cluster/datagram-frames.js';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import type { NewVisitorConn } from '../../src/protocol/messages.js';
import type { BurrowServer } from '../../src/server/server.js';
import { withTimeout } from '../../src/util/timeout.js';
import { visitor } from '../helpers/config.js';
import { rawLogin, type RawClient } from '../helpers/raw-client.js';
import { redisSkip, startRedis, type RedisProcess } from '../helpers/redis.js';
import { freePort, patternBytes, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';
import { startUdpEcho, udpProxy } from '../helpers/udp.js';
import { freeUdpPort } from '../helpers/udp-relay.js';
import { startStunServer } from '../helpers/stun-server.js';
import { frontDoor } from '../helpers/front-door.js';

/**
 * Issue 22: udp ports and secret proxies' visitors answered on a node that
 * does not hold them. Nodes as in cluster.test.ts: each its own loopback
 * address (127.0.0.2, 127.0.0.3), the same public port numbers.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';
const SK = 'between-friends';

/** A node whose public side is on `host`; its bind port on every address (the raw client dials 127.0.0.1). */
function node(kit: ReturnType<typeof tunnelKit>, redis: RedisProcess, name: string, host: string, tls = false): Promise<BurrowServer> {
  return kit.startServer({
    bindPort: 0,
    proxyBindAddr: host,
    cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3, tls },
  });
}

/** A user's UDP socket on 127.0.0.1 asking host:port, with retries (datagrams may be lost). */
class UdpUser {
  private readonly socket: UdpSocket = createSocket('udp4');
  /** every datagram received, with where it came from */
  readonly received: Array<{ data: string; from: string }> = [];
  private waiter: (() => void) | undefined;

  static async open(t: TestContext): Promise<UdpUser> {
    const user = new UdpUser();
    user.socket.on('message', (msg, rinfo) => {
      user.received.push({ data: msg.toString('latin1'), from: `${rinfo.address}:${rinfo.port}` });
      user.waiter?.();
    });
    user.socket.bind(0, '127.0.0.1');
    await once(user.socket, 'listening');
    whenDone(t, () => user.socket.close());
    return user;
  }

  /** Sends `text` until it comes back (at most 5 tries of 1 s); resolves where the answer came from. */
  async ask(host: string, port: number, text: string): Promise<string> {
    for (let i = 0; i < 5; i++) {
      this.socket.send(Buffer.from(text, 'latin1'), port, host);
      const deadline = Date.now() + 1000;
      while (Date.now() < deadline) {
        const hit = this.received.find((r) => r.data === text);
        if (hit) return hit.from;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          this.waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    throw new Error(`no answer to ${text.slice(0, 20)} from ${host}:${port}`);
  }
}

async function setup(t: TestContext): Promise<{ kit: ReturnType<typeof tunnelKit>; redis: RedisProcess }> {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  return { kit, redis };
}

for (const tls of [false, true]) {
  test(`a udp port held by node A answers through node B, to several users at once, each getting its own replies from B (link ${tls ? 'over TLS' : 'plain'})`, {
    skip: redisSkip,
  }, async (t) => {
    const { kit, redis } = await setup(t);
    const echo = await startUdpEcho();
    whenDone(t, () => echo.close());
    const port = await freeUdpPort();
    const a = await node(kit, redis, 'a', A, tls);
    const b = await node(kit, redis, 'b', B, tls);
    const door = await frontDoor(t, [() => ({ host: '127.0.0.1', port: a.port }), () => ({ host: '127.0.0.1', port: b.port })]);
    const client = kit.makeClient(door, {
      proxies: [udpProxy('dns', echo.port, { remotePort: port })],
      loginFailExit: false,
      client: { proxyRetry: { firstMs: 300, maxMs: 300 } },
    });
    await client.start();
    await client.waitForProxy('dns');
    assert.ok(a.findProxy('dns'), 'the front door sent the client to A');
    await waitFor(() => b.cluster!.udp.mirroredPorts.includes(port), 'node B to answer the udp port held by A');

    const users = await Promise.all(Array.from({ length: 5 }, () => UdpUser.open(t)));
    await Promise.all(
      users.map(async (user, i) => {
        for (let n = 0; n < 20; n++) assert.equal(await user.ask(B, port, `user ${i} datagram ${n}`), `${B}:${port}`, 'the reply leaves from B');
      }),
    );
    for (const [i, user] of users.entries()) {
      assert.ok(
        user.received.every((r) => r.data.startsWith(`user ${i} `)),
        `user ${i} got another user's datagram`,
      );
    }
    const big = patternBytes(30_000, 7).toString('latin1');
    assert.equal(await users[0]!.ask(B, port, big), `${B}:${port}`, 'a 30 KB datagram crosses the link whole');
    assert.equal(await users[1]!.ask(A, port, 'to the owner directly'), `${A}:${port}`, 'the owner answers its own address from there');
    assert.equal(await users[1]!.ask(B, port, 'and through B again'), `${B}:${port}`, 'a user answered from where it sent last');
    assert.equal(a.findProxy('dns')!.activeConnections, 5, 'the owner counts each user relayed from B');

    // kill -9 as far as the cluster can tell: the client comes back through B, which then owns the port.
    await a.cluster!.kill();
    await a.stop();
    await waitFor(() => b.findProxy('dns') !== undefined, 'the client to register again through B', 30_000);
    assert.equal(b.cluster!.udp.mirroredPorts.includes(port), false, 'B serves the port itself now');
    assert.equal(await users[2]!.ask(B, port, 'after the failover'), `${B}:${port}`);
  });
}

/** One NewVisitorConn on a fresh logical connection of `raw`: the answer's error and the stream. */
async function visit(raw: RawClient, body: NewVisitorConn): Promise<{ error: string; stream: Duplex }> {
  const stream = await raw.dialer.open();
  await writeMessage(stream, { type: 'NewVisitorConn', body });
  const resp = await expectMessage(stream, 'NewVisitorConnResp', 10_000);
  return { error: resp.error ?? '', stream };
}

function signed(proxyName: string, runId: string, sk: string): NewVisitorConn {
  const timestamp = Math.floor(Date.now() / 1000);
  return { run_id: runId, proxy_name: proxyName, sign_key: tokenDigest(sk, timestamp), timestamp };
}

for (const wireProtocol of ['v1', 'v2'] as const) {
  test(`stcp and sudp visitors on node B reach proxies held on node A; refusals read as on one server (wire ${wireProtocol})`, {
    skip: redisSkip,
  }, async (t) => {
    const { kit, redis } = await setup(t);
    const tcpEcho = await kit.startEcho();
    const udpEcho = await startUdpEcho();
    whenDone(t, () => udpEcho.close());
    const a = await node(kit, redis, 'a', A);
    const b = await node(kit, redis, 'b', B);
    const owner = kit.makeClient(a.port, {
      proxies: [
        { name: 'secret-tcp', type: 'stcp', localIP: '127.0.0.1', localPort: tcpEcho.port, secretKey: SK, allowUsers: ['*'] },
        { name: 'secret-udp', type: 'sudp', localIP: '127.0.0.1', localPort: udpEcho.port, secretKey: SK },
        { name: 'alice-only', type: 'stcp', localIP: '127.0.0.1', localPort: tcpEcho.port, secretKey: SK, allowUsers: ['alice'] },
      ],
      extra: { transport: { wireProtocol } },
    });
    await owner.start();
    await Promise.all(['secret-tcp', 'secret-udp', 'alice-only'].map((n) => owner.waitForProxy(n)));
    await waitFor(() => b.cluster!.proxyRoute('secret-udp') !== undefined, 'node B to see the proxies held by A');

    const [stcpPort, sudpPort] = await Promise.all([freePort(), freePort()]);
    const visitors = kit.makeClient(b.port, {
      extra: {
        transport: { wireProtocol },
        visitors: [visitor('stcp', 'tcp-visitor', 'secret-tcp', SK, stcpPort), visitor('sudp', 'udp-visitor', 'secret-udp', SK, sudpPort)],
      },
    });
    await visitors.start();
    assert.equal(b.clients.length, 1, 'the visitor client is on B');
    const data = patternBytes(200_000, 3);
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const d = i === 0 ? data : patternBytes(5000 + i, i + 10);
        const s = connect({ host: '127.0.0.1', port: stcpPort, allowHalfOpen: true });
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.end(d);
        await once(s, 'end');
        s.destroy();
        return Buffer.concat(chunks).equals(d);
      }),
    );
    assert.deepEqual(results, [true, true, true, true, true], 'stcp through B reaches the service behind A');
    const user = await UdpUser.open(t);
    for (let n = 0; n < 10; n++) await user.ask('127.0.0.1', sudpPort, `sudp datagram ${n}`);
    assert.ok(a.findProxy('secret-tcp')!.traffic.bytesIn >= data.length, 'the stcp proxy on A carried it');

    // By hand, to read the answers: each the text a single server gives.
    const raw = await rawLogin(b.port, { user: 'bob' });
    whenDone(t, () => raw.close());
    const wrongKey = await visit(raw, signed('secret-tcp', raw.runId, 'guess'));
    assert.equal(wrongKey.error, 'visitor connection of [secret-tcp] auth failed: the secret key does not match');
    const notAllowed = await visit(raw, signed('alice-only', raw.runId, SK));
    assert.equal(notAllowed.error, 'visitor connection of [alice-only] user [bob] not allowed');
    const unknown = await visit(raw, signed('nothing-here', raw.runId, SK));
    assert.equal(unknown.error, 'no stcp or sudp proxy named "nothing-here" is registered');
    const stranger = await visit(raw, signed('secret-tcp', 'ffffffffffffffff', SK));
    assert.equal(stranger.error, 'no client control found for run id [ffffffffffffffff]', "checked on the visitor's own node");
    for (const refused of [wrongKey, notAllowed, unknown, stranger]) {
      await withTimeout(new Promise((r) => (refused.stream.destroyed ? r(null) : refused.stream.once('close', r))), 5000, 'a refused stream to close');
    }
    const ok = await visit(raw, signed('secret-tcp', raw.runId, SK));
    assert.equal(ok.error, '');
    ok.stream.write('hello through the relay');
    const [echoed] = (await once(ok.stream, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'hello through the relay');
    ok.stream.destroy();
  });
}

test('bad frames on the internal link close that link alone', { skip: redisSkip }, async (t) => {
  const { kit, redis } = await setup(t);
  const echo = await startUdpEcho();
  whenDone(t, () => echo.close());
  const port = await freeUdpPort();
  const a = await node(kit, redis, 'a', A);
  const b = await node(kit, redis, 'b', B);
  const client = kit.makeClient(a.port, { proxies: [udpProxy('dns', echo.port, { remotePort: port })] });
  await client.start();
  await client.waitForProxy('dns');
  await waitFor(() => b.cluster!.udp.mirroredPorts.includes(port), 'node B to answer the udp port held by A');
  const user = await UdpUser.open(t);
  assert.equal(await user.ask(B, port, 'before'), `${B}:${port}`);

  const closed = (s: Socket): Promise<unknown> => withTimeout<unknown>(s.closed ? Promise.resolve() : once(s, 'close'), 5000, 'the bad link to close');
  // A udp link whose frame says 1 MiB: no datagram is that long.
  const udpLink = await dialLink(a.cluster!.link, SECRET, { node: 'test', kind: 'udp', target: String(port), src: '127.0.0.1:40000' }, false);
  udpLink.on('error', () => {});
  udpLink.resume();
  udpLink.write(datagramFrame(Buffer.from('fine')));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(1024 * 1024);
  udpLink.write(head);
  await closed(udpLink);
  // A visitor link whose first frame is not a visitor's.
  const visitorLink = await dialLink(a.cluster!.link, SECRET, { node: 'test', kind: 'visitor', target: 'x', src: '127.0.0.1:40001' }, false);
  visitorLink.on('error', () => {});
  visitorLink.resume();
  const junk = Buffer.from(JSON.stringify({ hello: 'there' }));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(junk.length);
  visitorLink.write(Buffer.concat([len, junk]));
  await closed(visitorLink);
  // A link signed with another secret never gets that far.
  await assert.rejects(dialLink(a.cluster!.link, 'not-the-cluster-secret', { node: 'test', kind: 'udp', target: String(port), src: '127.0.0.1:40002' }, false));

  assert.equal(await user.ask(B, port, 'after'), `${B}:${port}`, 'the relayed user is unaffected');
  assert.ok(a.findProxy('dns'), 'the proxy is unaffected');
});

test('an xtcp visitor on node B punches through to an owner on node A: B carries its NatHoleVisitor to A and the answer back', {
  skip: redisSkip,
}, async (t) => {
  const { kit, redis } = await setup(t);
  const echo = await kit.startEcho();
  const stun = await startStunServer();
  whenDone(t, () => stun.close());
  const stunServer = `127.0.0.1:${stun.port}`;
  const a = await node(kit, redis, 'a', A);
  const b = await node(kit, redis, 'b', B);
  const owner = kit.makeClient(a.port, {
    proxies: [{ name: 'desk', type: 'xtcp', localIP: '127.0.0.1', localPort: echo.port, secretKey: SK }],
    extra: { natHoleStunServer: stunServer },
  });
  await owner.start();
  await owner.waitForProxy('desk');
  await waitFor(() => b.cluster!.proxyRoute('desk') !== undefined, 'node B to see the xtcp proxy held by A');
  const port = await freePort();
  const visitors = kit.makeClient(b.port, {
    extra: { natHoleStunServer: stunServer, visitors: [{ name: 'to-desk', type: 'xtcp', serverName: 'desk', secretKey: SK, bindPort: port }] },
  });
  await visitors.start();
  const data = patternBytes(100_000, 4);
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.end(data);
  await once(s, 'end');
  s.destroy();
  assert.ok(Buffer.concat(chunks).equals(data), 'the bytes went through the punched hole');
  assert.equal(a.findProxy('desk')!.traffic.bytesIn, 0, 'no tunnel byte went through a server');
  assert.equal(b.findProxy('desk'), undefined);
});
