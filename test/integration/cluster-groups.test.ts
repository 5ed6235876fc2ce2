import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { BurrowServer } from '../../src/server/server.js';
import { redisSkip, startRedis, type RedisProcess } from '../helpers/redis.js';
import { freePort, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

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
