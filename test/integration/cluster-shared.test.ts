import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { quotaPeriodStart } from '../../src/config/account-terms.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import type { ClusterView } from '../../src/cluster/node.js';
import { reloadAccountsDetailed } from '../../src/server/accounts/revocation.js';
import type { ClusterNodesView } from '../../src/server/cluster-shared.js';
import type { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import type { Logger } from '../../src/util/logger.js';
import { serverConfig, type RawServerConfig } from '../helpers/config.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/browser.js';
import { redisSkip, startRedis, type RedisProcess } from '../helpers/redis.js';
import { captureLog, patternBytes, portOf, tcpProxy, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';
import { echoAt } from '../helpers/echo-client.js';

/**
 * Issue 22 with issue 25: what the nodes of a cluster share besides claims
 * (usage counters, connection counts, revocations, statistics), each over a
 * real Redis and two nodes on their own loopback addresses.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';
const ALICE = 'alice-secret';

type RawUser = NonNullable<RawServerConfig['users']>[number];

async function setup(t: TestContext): Promise<{ kit: ReturnType<typeof tunnelKit>; redis: RedisProcess; echo: number; peek: Redis }> {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const peek = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  peek.on('error', () => {});
  await peek.connect();
  whenDone(t, () => peek.disconnect());
  const echo = (await kit.startEcho()).port;
  return { kit, redis, echo, peek };
}

function node(
  kit: ReturnType<typeof tunnelKit>,
  redis: RedisProcess,
  name: string,
  host: string,
  extra: RawServerConfig = {},
  logger?: Logger,
): Promise<BurrowServer> {
  return kit.startServer(
    { bindAddr: host, bindPort: 0, proxyBindAddr: host, cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 }, ...extra },
    logger,
  );
}

/** A user connection the server accepts and closes without a byte: the refusal a limit gives. */
async function closedWithoutReply(host: string, port: number): Promise<boolean> {
  const socket = connect({ host, port });
  socket.on('error', () => {});
  socket.write('hello');
  let got = 0;
  socket.on('data', (c: Buffer) => (got += c.length));
  await once(socket, 'close');
  return got === 0;
}

const aliceClient = (kit: ReturnType<typeof tunnelKit>, server: BurrowServer, host: string, proxy: string, echo: number) =>
  kit.makeClient(server.port, { token: ALICE, extra: { user: 'alice', serverAddr: host }, proxies: [tcpProxy(proxy, echo, { remotePort: 0 })] });

test("a user's traffic and connections on two nodes add up against one quota and one maxConnections", { skip: redisSkip }, async (t) => {
  const { kit, redis, echo, peek } = await setup(t);
  const users: RawUser[] = [{ name: 'alice', token: ALICE, trafficQuota: '64KB', maxConnections: 1 }];
  const logB = captureLog();
  const a = await node(kit, redis, 'a', A, { users });
  const b = await node(kit, redis, 'b', B, { users }, logB.logger);
  const onA = aliceClient(kit, a, A, 'one', echo);
  const onB = aliceClient(kit, b, B, 'two', echo);
  await Promise.all([onA.start(), onB.start()]);
  const portA = portOf((await onA.waitForProxy('one')).remoteAddr);
  const portB = portOf((await onB.waitForProxy('two')).remoteAddr);

  // maxConnections 1: a connection held on A leaves no place on B once B has read A's count.
  const held = connect({ host: A, port: portA });
  held.write('x');
  await once(held, 'data');
  await a.accounts.persist();
  await b.accounts.persist();
  assert.equal(b.accounts.report(() => 0)[0]?.connections, 1, "B counts alice's connection on A");
  assert.equal(await closedWithoutReply(B, portB), true);
  await logB.waitForLine(/user \[alice\]: maxConnections 1 reached/);
  held.destroy();
  const onAccount = a.accounts.find('alice')!;
  await waitFor(() => onAccount.openConnections === 0, 'the held connection to be released');
  await a.accounts.persist();
  await b.accounts.persist();

  // 40 KB each way on each node: under the quota on either alone, over it together.
  const data = patternBytes(20_000, 3);
  assert.ok((await echoAt(A, portA, data)).equals(data));
  assert.ok((await echoAt(B, portB, data)).equals(data));
  await a.accounts.persist();
  await b.accounts.persist();
  await a.accounts.persist();
  const key = `burrow:usage:${quotaPeriodStart(1, Date.now())}:alice`;
  const inRedis = Number(await peek.get(key));
  assert.ok(inRedis >= 4 * data.length, `Redis holds both nodes' traffic (${inRedis})`);
  assert.ok((await peek.pttl(key)) > 0, 'the period counter expires on its own');
  for (const [server, host, port] of [
    [a, A, portA],
    [b, B, portB],
  ] as const) {
    assert.ok(server.accounts.usedBytes(server.accounts.find('alice')!) >= 4 * data.length);
    assert.equal(await closedWithoutReply(host, port), true, `node ${host} refuses alice once the cluster's total is over the quota`);
  }
  await logB.waitForLine(/user \[alice\]: trafficQuota 64KB used up/);
});

test('Redis away: a node keeps counting, adds it all when Redis returns, and its limits go on from the last totals', { skip: redisSkip }, async (t) => {
  const { kit, redis, echo, peek } = await setup(t);
  const a = await node(kit, redis, 'a', A, { users: [{ name: 'alice', token: ALICE }] });
  const client = aliceClient(kit, a, A, 'one', echo);
  await client.start();
  const port = portOf((await client.waitForProxy('one')).remoteAddr);
  const data = patternBytes(1000, 5);
  const key = `burrow:usage:${quotaPeriodStart(1, Date.now())}:alice`;
  assert.ok((await echoAt(A, port, data)).equals(data));
  await a.accounts.persist();
  assert.equal(Number(await peek.get(key)), 2 * data.length);

  await redis.kill();
  await waitFor(() => a.cluster!.redisState === 'down', 'node A to see Redis gone');
  assert.ok((await echoAt(A, port, data)).equals(data), 'tunnels keep serving');
  const account = a.accounts.find('alice')!;
  assert.equal(a.accounts.usedBytes(account), 4 * data.length, 'counted locally on top of the last total');
  await a.accounts.persist(); // nothing reaches Redis, nothing is lost

  // An empty Redis (no persistence in this test): what was counted while it was away goes in when it returns.
  await redis.restart();
  await peek.connect().catch(() => {});
  const deadline = Date.now() + 10_000;
  while (Number(await peek.get(key).catch(() => 0)) !== 2 * data.length) {
    if (Date.now() > deadline) throw new Error('the traffic counted during the outage never reached Redis');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test("any node's dashboard shows every node, its clients and proxies and the totals; a dead node drops out after its lease", { skip: redisSkip }, async (t) => {
  const { kit, redis, echo } = await setup(t);
  const a = await node(kit, redis, 'a', A);
  const b = await node(kit, redis, 'b', B);
  const onA = kit.makeClient(a.port, { proxies: [tcpProxy('one', echo, { remotePort: 0 })], extra: { serverAddr: A } });
  const onB = kit.makeClient(b.port, { proxies: [tcpProxy('two', echo, { remotePort: 0 })], extra: { serverAddr: B } });
  await Promise.all([onA.start(), onB.start()]);
  const portA = portOf((await onA.waitForProxy('one')).remoteAddr);
  await onB.waitForProxy('two');
  const data = patternBytes(5000, 9);
  assert.ok((await echoAt(A, portA, data)).equals(data));
  await a.shared!.refresh();
  await b.shared!.refresh();

  const dashboard = await startServerDashboard({
    server: b,
    addr: '127.0.0.1',
    port: 0,
    user: '',
    password: '',
    enablePrometheus: false,
    logger: silentLogger,
  });
  whenDone(t, () => dashboard.close());
  const cluster = async () => (await (await fetch(`http://127.0.0.1:${dashboard.port}/api/cluster`)).json()) as ClusterView & ClusterNodesView;
  const view = await cluster();
  assert.equal(view.node, 'b');
  assert.deepEqual(
    view.nodes.map((n) => n.node),
    ['a', 'b'],
  );
  assert.deepEqual({ nodes: view.totals.nodes, clients: view.totals.clients, proxies: view.totals.proxies }, { nodes: 2, clients: 2, proxies: 2 });
  const nodeA = view.nodes.find((n) => n.node === 'a')!;
  assert.equal(nodeA.link, a.cluster!.link);
  const one = nodeA.clients.flatMap((c) => c.proxies).find((p) => p.name === 'one');
  assert.ok(one && one.type === 'tcp' && one.trafficIn >= data.length && one.trafficOut >= data.length, JSON.stringify(one));
  assert.ok(view.totals.trafficIn >= data.length);

  // The server page's cluster section, in Chromium when there is one.
  if (!NO_CHROMIUM) {
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      await page.goto(`http://127.0.0.1:${dashboard.port}/`);
      await page.locator('#cluster-nodes tr[data-node="a"]').waitFor();
      assert.equal(await page.locator('#cluster-nodes tr[data-node="b"] td').first().textContent(), 'b (this node)');
      const row = page.locator('#cluster-proxies tr[data-cluster-proxy="one"]');
      await row.waitFor();
      assert.equal(await row.locator('td').nth(2).textContent(), 'a', 'the proxy is listed with the node that holds it');
      assert.match((await page.locator('#cluster-sub').textContent()) ?? '', /2 nodes · 2 clients · 2 proxies/);
    } finally {
      await chromium.close();
    }
  }

  // kill -9 as far as the cluster can tell: A stops publishing and removes nothing.
  await a.cluster!.kill();
  await waitFor(() => b.shared!.view().nodes.length === 1, "node A's entry to run out", 15_000);
  assert.deepEqual(
    (await cluster()).nodes.map((n) => n.node),
    ['b'],
  );
});

test("a users reload on one node ends a revoked user's sessions on every node; other users stay", { skip: redisSkip }, async (t) => {
  const { kit, redis, echo } = await setup(t);
  const BOB = 'bob-secret';
  const users: RawUser[] = [
    { name: 'alice', token: ALICE },
    { name: 'bob', token: BOB },
  ];
  const logB = captureLog();
  const a = await node(kit, redis, 'a', A, { users });
  const b = await node(kit, redis, 'b', B, { users }, logB.logger);
  const onA = aliceClient(kit, a, A, 'one', echo);
  const onB = aliceClient(kit, b, B, 'two', echo);
  const bob = kit.makeClient(b.port, { token: BOB, extra: { user: 'bob', serverAddr: B }, proxies: [tcpProxy('three', echo, { remotePort: 0 })] });
  await Promise.all([onA.start(), onB.start(), bob.start()]);
  await Promise.all([onA.waitForProxy('one'), onB.waitForProxy('two'), bob.waitForProxy('three')]);
  await waitFor(() => b.shared!.listening, "node B to listen to the cluster's events");

  // B has no file to re-read: the revoked name's sessions there end all the same.
  const aliceOnB = b.clients.find((c) => c.user === 'alice')!;
  const withoutAlice = serverConfig({ users: [{ name: 'bob', token: BOB }] }).users;
  const first = reloadAccountsDetailed(a.accounts, a.clients, withoutAlice);
  assert.deepEqual(first, { closed: ['alice'], revoked: ['alice'] });
  await a.shared!.usersReloaded(first.revoked);
  await logB.waitForLine(/users reloaded by another node.*"reread":false.*"closed":"alice"/);
  assert.ok(!b.clients.includes(aliceOnB), "alice's session on B is closed");
  assert.ok(
    b.clients.some((c) => c.user === 'bob'),
    'bob keeps his session',
  );

  // The same users file on every node (the documented deployment): B re-reads its own when A reloads.
  b.shared!.setUsersSource(() => []);
  const second = reloadAccountsDetailed(a.accounts, a.clients, []);
  assert.deepEqual(second, { closed: [], revoked: ['bob'] }, 'bob has no client on A and is revoked all the same');
  await a.shared!.usersReloaded(second.revoked);
  await logB.waitForLine(/users reloaded by another node.*"reread":true.*"closed":"[a-z,]*bob/);
  assert.equal(b.accounts.find('alice'), undefined, 'node B re-read its users');
  assert.ok(!b.clients.some((c) => c.user === 'bob'), "bob's session on B is closed");
});

test('a node cut off from Redis when a reload is announced re-reads its own users when it is back', { skip: redisSkip }, async (t) => {
  const { kit, redis, echo } = await setup(t);
  const log = captureLog();
  const a = await node(kit, redis, 'a', A, { users: [{ name: 'alice', token: ALICE }] }, log.logger);
  const client = aliceClient(kit, a, A, 'one', echo);
  await client.start();
  await client.waitForProxy('one');
  await waitFor(() => a.shared!.listening, 'node A to listen');
  let users = serverConfig({ users: [{ name: 'alice', token: ALICE }] }).users;
  a.shared!.setUsersSource(() => users);
  await redis.kill();
  await waitFor(() => !a.shared!.listening, 'node A to lose the event channel');
  // Another node's announcement goes out now and never reaches A; the file A reads has changed.
  users = [];
  await redis.restart();
  await log.waitForLine(/users re-read: the event channel came back.*"closed":"alice"/, 20_000);
  assert.equal(a.accounts.find('alice'), undefined);
});
