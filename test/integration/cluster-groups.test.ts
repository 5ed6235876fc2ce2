import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { startClientAdmin } from '../../src/admin/client-api.js';
import type { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { redisSkip, startRedis, type RedisProcess } from '../helpers/redis.js';
import { freePort, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';
import { echoes } from '../helpers/echo-client.js';

/**
 * Issue 22: load-balancing groups (`loadBalancer.group`) whose members are
 * registered on different nodes share the port or domain; users reaching
 * any node are spread over the members on all nodes.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';
const C = '127.0.0.4';

interface Ports {
  http: number;
}

function node(kit: ReturnType<typeof tunnelKit>, redis: RedisProcess, name: string, host: string, ports: Ports): Promise<BurrowServer> {
  return kit.startServer({
    bindAddr: host,
    bindPort: 0,
    proxyBindAddr: host,
    vhostHTTPPort: ports.http,
    cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 },
  });
}

/** A tcp service that says its name to each connection and closes it. */
async function namedService(t: TestContext, name: string): Promise<number> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  whenDone(t, () => new Promise((r) => server.close(r)));
  return (server.address() as AddressInfo).port;
}

/** What host:port says before it closes; 'refused' when nothing listens there, '' when closed without a word. */
function said(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : text));
    socket.once('close', () => resolve(text));
  });
}

async function startWeb(t: TestContext, text: string): Promise<number> {
  const web = createHttpServer((_req, res) => res.end(text));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  whenDone(t, () => new Promise((r) => web.close(r)));
  return (web.address() as AddressInfo).port;
}

/** GET / with `hostHeader`, on a connection of its own: the body ('' on a status other than 200). */
function httpBody(host: string, port: number, hostHeader: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, headers: { host: hostHeader } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body : `status ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The distinct answers of `n` tries. */
async function answers(n: number, ask: () => Promise<string>): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await ask());
  return [...seen].sort();
}

const groupTcp = (name: string, localPort: number, remotePort: number, key = 'group-secret') => ({
  name,
  type: 'tcp' as const,
  localIP: '127.0.0.1',
  localPort,
  remotePort,
  loadBalancer: { group: 'lb', groupKey: key },
});

const groupWeb = (name: string, localPort: number, key = 'group-secret') => ({
  name,
  type: 'http' as const,
  localIP: '127.0.0.1',
  localPort,
  customDomains: ['lb.example.com'],
  loadBalancer: { group: 'web', groupKey: key },
});

test('a tcp group and an http group with a member on each node: users of either node reach both members; a wrong key through another node is refused; a dead node leaves its members out', {
  skip: redisSkip,
}, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const ports = { http: await freePort() };
  const tcpPort = await freePort();
  const [svcA, svcB, webA, webB] = await Promise.all([namedService(t, 'svc-a'), namedService(t, 'svc-b'), startWeb(t, 'web-a'), startWeb(t, 'web-b')]);
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const c = await node(kit, redis, 'c', C, ports);

  const onA = kit.makeClient(a.port, { proxies: [groupTcp('tcp-a', svcA, tcpPort), groupWeb('web-a', webA)], extra: { serverAddr: A } });
  await onA.start();
  await Promise.all([onA.waitForProxy('tcp-a'), onA.waitForProxy('web-a')]);

  // Through node B, where no member is yet: the group exists in the cluster with another key.
  const wrong = kit.makeClient(b.port, {
    proxies: [groupTcp('tcp-wrong', svcB, tcpPort, 'not-the-key'), groupWeb('web-wrong', webB, 'not-the-key')],
    extra: { serverAddr: B },
    client: { proxyRetry: { firstMs: 60_000, maxMs: 60_000 } },
  });
  await wrong.start();
  await waitFor(() => wrong.status('tcp-wrong')?.phase === 'start error' && wrong.status('web-wrong')?.phase === 'start error', 'the wrong key to be refused');
  assert.match(wrong.status('tcp-wrong')!.err, /proxy "tcp-wrong": group \[lb\] auth failed/);
  assert.match(wrong.status('web-wrong')!.err, /group \[web\] auth failed/);
  wrong.stop();

  const onB = kit.makeClient(b.port, { proxies: [groupTcp('tcp-b', svcB, tcpPort), groupWeb('web-b', webB)], extra: { serverAddr: B } });
  await onB.start();
  await Promise.all([onB.waitForProxy('tcp-b'), onB.waitForProxy('web-b')]);
  const seesBoth = (n: BurrowServer, kind: string, id: string) => n.cluster!.groups.members.nodes(kind, id).length >= (n === c ? 2 : 1);
  await waitFor(
    () => [a, b, c].every((n) => seesBoth(n, 'tcp', String(tcpPort)) && seesBoth(n, 'http', 'lb.example.com')),
    'every node to see the members on the other nodes',
  );
  await waitFor(() => c.cluster!.mirroredPorts.includes(tcpPort), 'node C (no member) to answer the group port');
  assert.deepEqual(
    c
      .cluster!.view()
      .groups.map((g) => `${g.kind}:${g.id}@${g.nodes.sort().join('+')}`)
      .sort(),
    ['http:lb.example.com@a+b', `tcp:${tcpPort}@a+b`],
    "node C's dashboard lists the groups and their nodes",
  );

  for (const host of [A, B, C]) {
    assert.deepEqual(await answers(8, () => said(host, tcpPort)), ['svc-a', 'svc-b'], `tcp users of ${host} reach both members`);
    assert.deepEqual(await answers(8, () => httpBody(host, ports.http, 'lb.example.com')), ['web-a', 'web-b'], `http users of ${host} reach both members`);
  }

  // Node B dies (kill -9 as far as the cluster can tell): its members go, the survivors keep serving without a user lost.
  await b.cluster!.kill();
  await b.stop();
  for (const host of [A, C]) {
    assert.deepEqual(await answers(6, () => said(host, tcpPort)), ['svc-a'], `tcp users of ${host} are served by the member left`);
    assert.deepEqual(await answers(6, () => httpBody(host, ports.http, 'lb.example.com')), ['web-a'], `http users of ${host} are served by the member left`);
  }
  await waitFor(() => a.cluster!.groups.members.nodes('tcp', String(tcpPort)).length === 0, "node B's entry to run out with its lease", 15_000);
  assert.deepEqual(
    c.cluster!.groups.members.nodes('tcp', String(tcpPort)).map((g) => g.n),
    ['a'],
  );
});

test('a client with serverAddrs holds a session on two nodes at once: both serve its proxies, nobody else takes their names, and one node dying costs no reconnect wait', {
  skip: redisSkip,
}, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const ports = { http: await freePort() };
  const tcpPort = await freePort();
  const echo = await kit.startEcho();
  const web = await startWeb(t, 'the web service');
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const c = await node(kit, redis, 'c', C, ports);

  const client = kit.makeClient(a.port, {
    proxies: [
      { name: 'ssh', type: 'tcp', localIP: '127.0.0.1', localPort: echo.port, remotePort: tcpPort },
      { name: 'web', type: 'http', localIP: '127.0.0.1', localPort: web, customDomains: ['app.example.com'] },
    ],
    extra: { serverAddr: A, serverAddrs: [`${A}:${a.port}`, `${B}:${b.port}`] },
  });
  await client.start();
  await waitFor(() => client.sessions.every((s) => s.state === 'online'), 'both sessions to log in');
  await waitFor(() => [a, b].every((n) => n.findProxy('ssh') !== undefined && n.findProxy('web') !== undefined), 'both nodes to hold both proxies');
  const sessions = client.sessions;
  assert.deepEqual(
    sessions.map((s) => s.server),
    [`${A}:${a.port}`, `${B}:${b.port}`],
  );
  assert.notEqual(sessions[0]!.runId, sessions[1]!.runId, 'each session has its own run id');
  // The admin page reads the same list.
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  whenDone(t, () => admin.close());
  const body = (await (await fetch(`http://127.0.0.1:${admin.port}/api/client`)).json()) as { sessions: Array<{ server: string; state: string }> };
  assert.deepEqual(
    body.sessions.map((s) => `${s.server} ${s.state}`),
    [`${A}:${a.port} online`, `${B}:${b.port} online`],
  );

  // Another client of the same user takes none of its names, through a node with no session of it either.
  const rival = kit.makeClient(c.port, {
    proxies: [{ name: 'ssh', type: 'tcp', localIP: '127.0.0.1', localPort: echo.port, remotePort: await freePort() }],
    extra: { serverAddr: C },
    client: { proxyRetry: { firstMs: 60_000, maxMs: 60_000 } },
  });
  await rival.start();
  await waitFor(() => rival.status('ssh')?.phase === 'start error', 'the rival to be refused');
  assert.match(rival.status('ssh')!.err, /proxy "ssh" already exists/);
  rival.stop();

  await waitFor(() => c.cluster!.mirroredPorts.includes(tcpPort), 'node C to answer the port');
  const data = Buffer.alloc(20_000, 7);
  for (const host of [A, B, C]) {
    assert.ok(await echoes(host, tcpPort, data), `the port answers on ${host}`);
    assert.equal(await httpBody(host, ports.http, 'app.example.com'), 'the web service', `the domain answers on ${host}`);
  }

  // Users keep coming through B and C while A dies.
  const servedOnB = b.findProxy('ssh');
  const results: Array<{ at: number; ok: boolean }> = [];
  let running = true;
  const users = [B, C].map(async (host) => {
    while (running) {
      const at = performance.now();
      results.push({ at, ok: await echoes(host, tcpPort, data) });
    }
  });
  await waitFor(() => results.filter((r) => r.ok).length >= 20, 'users to be served before the kill');
  await a.cluster!.kill();
  await a.stop();
  const killedAt = performance.now();
  await waitFor(() => client.sessions[0]!.state === 'reconnecting', 'the session to A to notice');
  await waitFor(() => results.filter((r) => r.at > killedAt && r.ok).length >= 20, 'users to be served after the kill');
  running = false;
  await Promise.all(users);

  const after = results.filter((r) => r.at > killedAt);
  assert.deepEqual(
    after.filter((r) => !r.ok),
    [],
    'every user who came after the kill was served',
  );
  assert.equal(client.sessions[1]!.state, 'online', 'the session to B never dropped');
  assert.equal(b.findProxy('ssh'), servedOnB, 'B served with the registration it had: no re-login, no re-registration');
  const okTimes = results.filter((r) => r.ok).map((r) => r.at);
  let gap = 0;
  for (let i = 1; i < okTimes.length; i++) gap = Math.max(gap, okTimes[i]! - okTimes[i - 1]!);
  console.log(`serverAddrs failover: the longest wait between two served users around the kill: ${gap.toFixed(1)} ms`);
  assert.equal(await httpBody(C, ports.http, 'app.example.com'), 'the web service', 'the domain answers on C, from B');
  assert.equal(await httpBody(B, ports.http, 'app.example.com'), 'the web service');
});

/** CONNECT `target` through the tcpmux port at host:port: what the service behind it says, or the status line when refused. */
function connectSays(host: string, port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.once('error', () => resolve(`error ${text}`));
    socket.once('close', () => {
      const end = text.indexOf('\r\n\r\n');
      const status = text.slice(0, text.indexOf('\r\n'));
      resolve(status === 'HTTP/1.1 200 OK' && end >= 0 ? text.slice(end + 4) : status);
    });
    socket.write(`CONNECT ${target}:80 HTTP/1.1\r\nHost: ${target}:80\r\n\r\n`);
  });
}

test('a tcpmux group with a member on each of two nodes: CONNECTs through any node reach both', { skip: redisSkip }, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const tcpmux = await freePort();
  const start = (name: string, host: string) =>
    kit.startServer({
      bindAddr: host,
      bindPort: 0,
      proxyBindAddr: host,
      tcpmuxHTTPConnectPort: tcpmux,
      cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 },
    });
  const [svcA, svcB] = await Promise.all([namedService(t, 'mux-a'), namedService(t, 'mux-b')]);
  const a = await start('a', A);
  const b = await start('b', B);
  const c = await start('c', C);
  const member = (name: string, localPort: number) => ({
    name,
    type: 'tcpmux' as const,
    multiplexer: 'httpconnect' as const,
    localIP: '127.0.0.1',
    localPort,
    customDomains: ['mux.example.com'],
    loadBalancer: { group: 'mux', groupKey: 'k' },
  });
  const onA = kit.makeClient(a.port, { proxies: [member('mux-a', svcA)], extra: { serverAddr: A } });
  const onB = kit.makeClient(b.port, { proxies: [member('mux-b', svcB)], extra: { serverAddr: B } });
  await Promise.all([onA.start(), onB.start()]);
  await Promise.all([onA.waitForProxy('mux-a'), onB.waitForProxy('mux-b')]);
  await waitFor(() => c.cluster!.groups.members.nodes('tcpmux', 'mux.example.com').length === 2, 'node C to see both members');
  await waitFor(() => a.cluster!.groups.members.nodes('tcpmux', 'mux.example.com').length === 1, 'node A to see the member on B');
  for (const host of [A, C]) {
    assert.deepEqual(await answers(8, () => connectSays(host, tcpmux, 'mux.example.com')), ['mux-a', 'mux-b'], `CONNECTs through ${host} reach both members`);
  }
});

test('an https group with a member on each of two nodes: TLS connections through any node reach both, by SNI', { skip: redisSkip }, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const https = await freePort();
  const cert = generateSelfSignedCertificate({ commonName: 'secure.example.com' });
  const backend = async (name: string): Promise<number> => {
    const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
      s.on('error', () => {});
      s.end(name);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    whenDone(t, () => new Promise((r) => server.close(r)));
    return (server.address() as AddressInfo).port;
  };
  const [tlsA, tlsB] = await Promise.all([backend('tls-a'), backend('tls-b')]);
  const start = (name: string, host: string) =>
    kit.startServer({
      bindAddr: host,
      bindPort: 0,
      proxyBindAddr: host,
      vhostHTTPSPort: https,
      cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 },
    });
  const a = await start('a', A);
  const b = await start('b', B);
  const member = (name: string, localPort: number) => ({
    name,
    type: 'https' as const,
    localIP: '127.0.0.1',
    localPort,
    customDomains: ['secure.example.com'],
    loadBalancer: { group: 'tls', groupKey: 'k' },
  });
  const onA = kit.makeClient(a.port, { proxies: [member('tls-a', tlsA)], extra: { serverAddr: A } });
  const onB = kit.makeClient(b.port, { proxies: [member('tls-b', tlsB)], extra: { serverAddr: B } });
  await Promise.all([onA.start(), onB.start()]);
  await Promise.all([onA.waitForProxy('tls-a'), onB.waitForProxy('tls-b')]);
  await waitFor(() => [a, b].every((n) => n.cluster!.groups.members.nodes('https', 'secure.example.com').length === 1), 'each node to see the other member');
  const tlsSays = (host: string) =>
    new Promise<string>((resolve) => {
      const socket = tls.connect({ host, port: https, servername: 'secure.example.com', rejectUnauthorized: false });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.once('error', () => resolve(`error ${text}`));
      socket.once('close', () => resolve(text));
    });
  for (const host of [A, B]) assert.deepEqual(await answers(8, () => tlsSays(host)), ['tls-a', 'tls-b'], `TLS through ${host} reaches both members`);
});

test("a node whose last member of a tcp group leaves keeps answering the group's port, for the members on the other node", { skip: redisSkip }, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const ports = { http: await freePort() };
  const tcpPort = await freePort();
  const [svcA, svcB] = await Promise.all([namedService(t, 'svc-a'), namedService(t, 'svc-b')]);
  const a = await node(kit, redis, 'a', A, ports);
  const b = await node(kit, redis, 'b', B, ports);
  const onA = kit.makeClient(a.port, { proxies: [groupTcp('tcp-a', svcA, tcpPort)], extra: { serverAddr: A } });
  const onB = kit.makeClient(b.port, { proxies: [groupTcp('tcp-b', svcB, tcpPort)], extra: { serverAddr: B } });
  await Promise.all([onA.start(), onB.start()]);
  await Promise.all([onA.waitForProxy('tcp-a'), onB.waitForProxy('tcp-b')]);
  await waitFor(() => a.cluster!.groups.members.nodes('tcp', String(tcpPort)).length === 1, 'node A to see the member on B');
  assert.deepEqual(await answers(6, () => said(A, tcpPort)), ['svc-a', 'svc-b']);

  onA.stop();
  await waitFor(() => a.cluster!.mirroredPorts.includes(tcpPort), 'node A to answer the port for B');
  assert.deepEqual(await answers(6, () => said(A, tcpPort)), ['svc-b'], 'users of A reach the member on B');
});
