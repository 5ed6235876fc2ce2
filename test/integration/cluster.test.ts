import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import type { ClusterView } from '../../src/cluster/node.js';
import type { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { rawLogin } from '../helpers/raw-client.js';
import { redisSkip, startRedis, type RedisProcess } from '../helpers/redis.js';
import { freePort, patternBytes, tcpProxy, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';
import { echoAt } from '../helpers/echo-client.js';
import { frontDoor } from '../helpers/front-door.js';

/**
 * Issue 22: several servers on one Redis. Each node has its own loopback
 * address (127.0.0.2, 127.0.0.3: Linux routes all of 127/8 to lo) and the
 * same public port numbers, as nodes behind one DNS name would.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';

interface Ports {
  tcp: number;
  http: number;
  tcpmux: number;
  https: number;
}

async function node(kit: ReturnType<typeof tunnelKit>, redis: RedisProcess, name: string, host: string, ports: Ports, tls = false): Promise<BurrowServer> {
  return kit.startServer({
    bindAddr: host,
    bindPort: 0,
    proxyBindAddr: host,
    vhostHTTPPort: ports.http,
    tcpmuxHTTPConnectPort: ports.tcpmux,
    vhostHTTPSPort: ports.https,
    // The shortest lease keeps the failure cases quick; heartbeats go every second.
    cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3, tls },
  });
}

/** CONNECT `target` on host:port, then `data` through the tunnel: the answer head's status line and what came back. */
async function connectThrough(host: string, port: number, target: string, data: Buffer): Promise<{ status: string; echoed: Buffer }> {
  const socket = connect({ host, port });
  socket.write(`CONNECT ${target}:80 HTTP/1.1\r\nHost: ${target}:80\r\n\r\n`);
  let got = Buffer.alloc(0);
  let headEnd = -1;
  for await (const chunk of socket) {
    got = Buffer.concat([got, chunk as Buffer]);
    if (headEnd < 0) {
      headEnd = got.indexOf('\r\n\r\n');
      if (headEnd >= 0) socket.write(data);
    }
    if (headEnd >= 0 && got.length - headEnd - 4 >= data.length) break;
  }
  socket.destroy();
  return { status: got.subarray(0, got.indexOf('\r\n')).toString(), echoed: got.subarray(headEnd + 4) };
}

/** GET / with `hostHeader` on host:port: the status and body. */
function httpAt(host: string, port: number, hostHeader: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, headers: { host: hostHeader } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startWeb(t: TestContext, text: string): Promise<number> {
  const web = createHttpServer((req, res) => res.end(`${text} ${req.headers.host ?? ''}`));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  whenDone(t, () => new Promise((r) => web.close(r)));
  return (web.address() as AddressInfo).port;
}

async function setup(t: TestContext): Promise<{ kit: ReturnType<typeof tunnelKit>; redis: RedisProcess; ports: Ports; echo: number; web: number }> {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const echo = (await kit.startEcho()).port;
  const web = await startWeb(t, 'hello from');
  return { kit, redis, ports: { tcp: await freePort(), http: await freePort(), tcpmux: await freePort(), https: await freePort() }, echo, web };
}

const webProxy = (name: string, web: number, domain: string) => ({
  name,
  type: 'http' as const,
  localIP: '127.0.0.1',
  localPort: web,
  customDomains: [domain],
});

for (const tls of [false, true]) {
  test(`a tunnel held by node A answers on node B, and nobody through B can take its name, port or domain (link ${tls ? 'over TLS' : 'plain'})`, {
    skip: redisSkip,
  }, async (t) => {
    const { kit, redis, ports, echo, web } = await setup(t);
    const a = await node(kit, redis, 'a', A, ports, tls);
    const b = await node(kit, redis, 'b', B, ports, tls);
    const client = kit.makeClient(a.port, {
      proxies: [
        tcpProxy('ssh', echo, { remotePort: ports.tcp }),
        webProxy('web', web, 'app.example.com'),
        { name: 'mux', type: 'tcpmux', multiplexer: 'httpconnect', localIP: '127.0.0.1', localPort: echo, customDomains: ['tunnel.example.com'] },
      ],
      extra: { serverAddr: A },
    });
    await client.start();
    await client.waitForProxy('ssh');
    await client.waitForProxy('web');

    const data = patternBytes(50_000, 3);
    assert.ok((await echoAt(A, ports.tcp, data)).equals(data), 'the owner serves its port');
    await waitFor(() => b.cluster!.mirroredPorts.includes(ports.tcp), 'node B to answer the port held by A');
    assert.ok((await echoAt(B, ports.tcp, data)).equals(data), 'node B relays the port to A');
    await waitFor(() => b.cluster!.routes.findDomain('http', 'app.example.com') !== undefined, 'node B to see the domain held by A');
    assert.deepEqual(await httpAt(B, ports.http, 'app.example.com'), { status: 200, body: 'hello from app.example.com' });
    assert.deepEqual(await httpAt(A, ports.http, 'app.example.com'), { status: 200, body: 'hello from app.example.com' });
    assert.equal((await httpAt(B, ports.http, 'nobody.example.com')).status, 404, 'a domain nobody holds is still 404');
    await client.waitForProxy('mux');
    await waitFor(() => b.cluster!.routes.findDomain('tcpmux', 'tunnel.example.com') !== undefined, 'node B to see the tcpmux domain');
    const viaB = await connectThrough(B, ports.tcpmux, 'tunnel.example.com', data);
    assert.equal(viaB.status, 'HTTP/1.1 200 OK', "the owner answers the CONNECT it got relayed (frp's status line)");
    assert.ok(viaB.echoed.equals(data), 'tcpmux through B reaches the service behind A');

    // B's dashboard shows what B sees of the cluster.
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
    const view = (await (await fetch(`http://127.0.0.1:${dashboard.port}/api/cluster`)).json()) as ClusterView;
    assert.equal(view.node, 'b');
    assert.equal(view.redis, 'up');
    assert.deepEqual(view.mirroredPorts, [ports.tcp]);
    const held = view.remote.map((r) => `${r.kind}:${r.id}@${r.node}`).sort();
    assert.deepEqual(held, ['http:app.example.com@a', 'proxy:mux@a', 'proxy:ssh@a', 'proxy:web@a', `tcp:${ports.tcp}@a`, 'tcpmux:tunnel.example.com@a']);

    const rival = kit.makeClient(b.port, {
      proxies: [tcpProxy('ssh', echo), tcpProxy('ssh-b', echo, { remotePort: ports.tcp }), webProxy('web-b', web, 'app.example.com')],
      extra: { serverAddr: B },
      client: { proxyRetry: { firstMs: 60_000, maxMs: 60_000 } },
    });
    await rival.start();
    const refused = (name: string) => waitFor(() => rival.status(name)?.phase === 'start error', `${name} to be refused`);
    await Promise.all([refused('ssh'), refused('ssh-b'), refused('web-b')]);
    assert.match(rival.status('ssh')!.err, /proxy "ssh" already exists/);
    assert.match(rival.status('ssh-b')!.err, new RegExp(`proxy "ssh-b": remote port ${ports.tcp} is already in use`));
    assert.match(rival.status('web-b')!.err, /domain \[app\.example\.com\] is already used by proxy \[web\]/);
    assert.ok((await echoAt(B, ports.tcp, data)).equals(data), 'the refusals changed nothing');
  });
}

/** TLS to host:port with `servername`: the backend's first line (its name and the SNI it saw), or 'closed'. */
function tlsFirstLine(host: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername, rejectUnauthorized: false });
    socket.once('error', () => resolve('closed'));
    socket.once('close', () => resolve('closed'));
    socket.once('data', (d: Buffer) => {
      resolve(d.toString().trim());
      socket.destroy();
    });
  });
}

test('https names held by node A answer through B by SNI, wildcards included, and another user cannot take them through B', { skip: redisSkip }, async (t) => {
  const { kit, redis, ports } = await setup(t);
  const cert = generateSelfSignedCertificate({ commonName: 'secure.example.com' });
  const backend = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
    s.on('error', () => {});
    s.end(`backend:${s.servername ?? ''}\n`);
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  whenDone(t, () => new Promise((r) => backend.close(r)));
  const backendPort = (backend.address() as AddressInfo).port;
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const alice = kit.makeClient(a.port, {
    proxies: [{ name: 'secure', type: 'https', localIP: '127.0.0.1', localPort: backendPort, customDomains: ['secure.example.com', '*.w.example.com'] }],
    extra: { serverAddr: A, user: 'alice' },
  });
  await alice.start();
  await alice.waitForProxy('secure');
  await waitFor(() => b.cluster!.routes.findDomain('https', 'x.w.example.com') !== undefined, 'node B to see the https names');
  assert.equal(await tlsFirstLine(B, ports.https, 'secure.example.com'), 'backend:secure.example.com');
  assert.equal(await tlsFirstLine(B, ports.https, 'x.w.example.com'), 'backend:x.w.example.com');
  assert.equal(await tlsFirstLine(B, ports.https, 'other.example.com'), 'closed', 'a name nobody holds is closed, as on one server');

  const bob = kit.makeClient(b.port, {
    proxies: [{ name: 'steal', type: 'https', localIP: '127.0.0.1', localPort: backendPort, customDomains: ['secure.example.com'] }],
    extra: { serverAddr: B, user: 'bob' },
    client: { proxyRetry: { firstMs: 60_000, maxMs: 60_000 } },
  });
  await bob.start();
  await waitFor(() => bob.status('steal')?.phase === 'start error', 'bob to be refused');
  assert.match(bob.status('steal')!.err, /domain \[secure\.example\.com\] belongs to another user/);
});

test('routes of one domain by location, from two clients on one node, share its claim and both answer through B', { skip: redisSkip }, async (t) => {
  const { kit, redis, ports } = await setup(t);
  const webA = await startWeb(t, 'first');
  const webB = await startWeb(t, 'second');
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const one = kit.makeClient(a.port, { proxies: [{ ...webProxy('loc-a', webA, 'shared.example.com'), locations: ['/a'] }], extra: { serverAddr: A } });
  const two = kit.makeClient(a.port, { proxies: [{ ...webProxy('loc-b', webB, 'shared.example.com'), locations: ['/b'] }], extra: { serverAddr: A } });
  // Both at once: their claims of the domain meet on node A.
  await Promise.all([one.start(), two.start()]);
  await Promise.all([one.waitForProxy('loc-a'), two.waitForProxy('loc-b')]);
  await waitFor(() => b.cluster!.routes.findDomain('http', 'shared.example.com') !== undefined, 'node B to see the domain');
  const get = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: B, port: ports.http, path, agent: false, headers: { host: 'shared.example.com' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await get('/a'), 'first shared.example.com');
  assert.equal(await get('/b'), 'second shared.example.com');
  // One client leaves: the domain stays claimed for the other, and keeps answering through B.
  one.stop();
  await waitFor(() => a.findProxy('loc-a') === undefined, 'the first route to go');
  assert.equal(a.cluster!.view().claimsHeld, 2, 'the second proxy name and the shared domain');
  assert.equal(await get('/b'), 'second shared.example.com');
});

test('when node A dies its leases run out, and its client comes back through B with the same port and domain', { skip: redisSkip }, async (t) => {
  const { kit, redis, ports, echo, web } = await setup(t);
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const aPort = a.port;
  const door = await frontDoor(t, [() => ({ host: A, port: aPort }), () => ({ host: B, port: b.port })]);
  const client = kit.makeClient(door, {
    proxies: [tcpProxy('ssh', echo, { remotePort: ports.tcp }), webProxy('web', web, 'app.example.com')],
    loginFailExit: false,
    client: { proxyRetry: { firstMs: 300, maxMs: 300 } },
  });
  // A second client, on A alone: it cannot come back, so its port must leave the cluster with A's lease.
  const orphanPort = await freePort();
  const orphan = kit.makeClient(aPort, { proxies: [tcpProxy('orphan', echo, { remotePort: orphanPort })], extra: { serverAddr: A }, loginFailExit: false });
  await client.start();
  await orphan.start();
  await client.waitForProxy('ssh');
  await client.waitForProxy('web');
  await orphan.waitForProxy('orphan');
  assert.equal(a.clients.length, 2, 'the front door sent the client to A');
  await waitFor(() => b.cluster!.mirroredPorts.includes(orphanPort) && b.cluster!.mirroredPorts.includes(ports.tcp), 'node B to answer A ports');

  // kill -9, as far as the cluster can tell: no claim released, the heartbeat just stops.
  await a.cluster!.kill();
  await a.stop();

  await waitFor(() => b.findProxy('ssh') !== undefined && b.findProxy('web') !== undefined, 'the client to register again through B', 30_000);
  const data = patternBytes(30_000, 5);
  assert.ok((await echoAt(B, ports.tcp, data)).equals(data), 'the port serves again, from B');
  assert.deepEqual(await httpAt(B, ports.http, 'app.example.com'), { status: 200, body: 'hello from app.example.com' });

  // Nobody renews the orphan's claim: within one lease B stops answering its port.
  await waitFor(() => !b.cluster!.mirroredPorts.includes(orphanPort), 'the dead node routes to expire', 15_000);
  assert.equal(b.cluster!.routes.find('tcp', String(orphanPort)), undefined);
  const refused = await new Promise<string>((resolve) => {
    const s = connect({ host: B, port: orphanPort });
    s.once('connect', () => resolve('connected'));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED', 'no user is sent toward the dead node');
});

test('with Redis gone, tunnels held keep serving, new registrations are refused with the reason, and all is back when it returns', {
  skip: redisSkip,
}, async (t) => {
  const { kit, redis, ports, echo } = await setup(t);
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const client = kit.makeClient(a.port, { proxies: [tcpProxy('ssh', echo, { remotePort: ports.tcp })], extra: { serverAddr: A } });
  await client.start();
  await client.waitForProxy('ssh');
  await waitFor(() => b.cluster!.mirroredPorts.includes(ports.tcp), 'node B to answer the port held by A');

  await redis.kill();
  await waitFor(() => a.cluster!.redisState === 'down', 'node A to notice Redis is gone');
  const data = patternBytes(20_000, 9);
  assert.ok((await echoAt(A, ports.tcp, data)).equals(data), 'the tunnel held by A keeps serving');

  const late = kit.makeClient(a.port, { proxies: [tcpProxy('late', echo)], extra: { serverAddr: A }, client: { proxyRetry: { firstMs: 300, maxMs: 300 } } });
  await late.start();
  await waitFor(() => late.status('late')?.phase === 'start error', 'the new proxy to be refused');
  assert.match(late.status('late')!.err, /proxy "late" cannot be registered now: the cluster state \(Redis\) is unreachable/);

  await redis.restart();
  await waitFor(() => a.cluster!.redisState === 'up' && b.cluster!.redisState === 'up', 'both nodes to reconnect');
  // Its next attempt (every 300 ms) goes through.
  await waitFor(() => late.status('late')?.phase === 'running', 'the refused proxy to register on its next attempt');
  // The empty Redis got A's claims back from its heartbeat; B answers the port again.
  await waitFor(() => b.cluster!.mirroredPorts.includes(ports.tcp), 'node B to answer the port again', 15_000);
  assert.ok((await echoAt(B, ports.tcp, data)).equals(data));
});

test('a client that logs in again through another node takes its proxies along, and the stale session on the first node goes', {
  skip: redisSkip,
}, async (t) => {
  const { kit, redis, ports } = await setup(t);
  // Control ports on 127.0.0.1 (the raw client dials there); the public sides apart as usual.
  const start = (name: string, proxyHost: string) =>
    kit.startServer({
      bindPort: 0,
      proxyBindAddr: proxyHost,
      vhostHTTPPort: ports.http,
      cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 },
    });
  const a = await start('a', A);
  const b = await start('b', B);
  const first = await rawLogin(a.port);
  whenDone(t, () => first.close());
  const proxy = { proxy_name: 'moving', proxy_type: 'tcp', remote_port: ports.tcp };
  const registered = await first.newProxy(proxy);
  assert.ok(registered.type === 'NewProxyResp' && !registered.body.error, 'A registers the proxy');

  // Another user who learnt the run id (the dashboard shows it) gets nothing of A's through B.
  const other = await rawLogin(b.port, { runId: first.runId, user: 'mallory' });
  const stolen = await other.newProxy(proxy);
  assert.ok(
    stolen.type === 'NewProxyResp' && /already (in use|exists)/.test(stolen.body.error ?? ''),
    `A's name and port stay A's: ${JSON.stringify(stolen.body)}`,
  );
  other.close();
  await waitFor(() => b.clients.length === 0, 'node B to drop that session');
  assert.ok(a.findProxy('moving'), 'A still serves it');

  // The same client (its run id) through B, while A still holds its session, as after a network cut.
  const again = await rawLogin(b.port, { runId: first.runId });
  whenDone(t, () => again.close());
  assert.equal(again.runId, first.runId);
  const moved = await again.newProxy(proxy);
  assert.ok(moved.type === 'NewProxyResp' && !moved.body.error, 'B takes the name and the port over at once');
  assert.ok(b.findProxy('moving'));
  // A's next heartbeat finds its claims gone to B: the stale session there is closed.
  await waitFor(() => a.clients.length === 0, 'node A to drop the stale session', 15_000);
  assert.equal(a.findProxy('moving'), undefined);
  await waitFor(() => a.cluster!.mirroredPorts.includes(ports.tcp), 'node A to answer the port now held by B', 15_000);
});
