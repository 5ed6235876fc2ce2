import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { BurrowServer } from '../../src/server/server.js';
import { redisSkip, startRedis, startSentinel } from '../helpers/redis.js';
import { freePort, patternBytes, tcpProxy, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/**
 * Issue 22: nodes that find their Redis through Sentinel
 * (`cluster.redis = "redis+sentinel://…/mastername"`), and keep working when
 * Sentinel moves the primary to a replica.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';

async function echoAt(host: string, port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host, port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.end(data);
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks);
}

test('nodes reach Redis through Sentinel, and carry on when it fails the primary over to its replica', { skip: redisSkip }, async (t) => {
  const kit = tunnelKit(t);
  const primary = await startRedis();
  whenDone(t, () => primary.kill());
  const replica = await startRedis({ replicaOf: primary.port });
  whenDone(t, () => replica.kill());
  const sentinel = await startSentinel(primary.port, 'burrow-primary');
  whenDone(t, () => sentinel.kill());
  // The replica must be known to Sentinel before the primary dies, or there is nothing to fail over to.
  await sentinel.waitForEvent(new RegExp(`\\+slave slave 127\\.0\\.0\\.1:${replica.port}`));

  const redis = `redis+sentinel://127.0.0.1:${sentinel.port}/burrow-primary`;
  const node = (name: string, host: string): Promise<BurrowServer> =>
    kit.startServer({ bindPort: 0, proxyBindAddr: host, cluster: { redis, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 } });
  const a = await node('a', A);
  const b = await node('b', B);
  assert.equal(a.cluster!.redisState, 'up');
  const echo = await kit.startEcho();
  const port = await freePort();
  const client = kit.makeClient(a.port, { proxies: [tcpProxy('ssh', echo.port, { remotePort: port })] });
  await client.start();
  await client.waitForProxy('ssh');
  await waitFor(() => b.cluster!.mirroredPorts.includes(port), 'node B to answer the port held by A');
  const data = patternBytes(20_000, 2);
  assert.ok((await echoAt(B, port, data)).equals(data));

  await primary.kill();
  await sentinel.waitForEvent(/\+switch-master burrow-primary/, 30_000);
  // Each node reconnects through Sentinel to the new primary; a new registration proves it.
  const late = kit.makeClient(b.port, {
    proxies: [tcpProxy('late', echo.port)],
    client: { proxyRetry: { firstMs: 300, maxMs: 300 } },
  });
  await late.start();
  await waitFor(() => late.status('late')?.phase === 'running', 'a registration through B after the failover', 30_000);
  await waitFor(() => a.cluster!.redisState === 'up', 'node A back on Redis', 30_000);
  // A's claims live on in the new primary (replicated, or written back by its heartbeat): B answers A's port again.
  await waitFor(() => b.cluster!.mirroredPorts.includes(port), "node B to answer A's port again", 15_000);
  assert.ok((await echoAt(B, port, data)).equals(data), 'the port held by A still answers through B');
  const rival = kit.makeClient(b.port, { proxies: [tcpProxy('ssh', echo.port)], client: { proxyRetry: { firstMs: 60_000, maxMs: 60_000 } } });
  await rival.start();
  await waitFor(() => rival.status('ssh')?.phase === 'start error', 'the duplicate name to be refused');
  assert.match(rival.status('ssh')!.err, /proxy "ssh" already exists/);
});
