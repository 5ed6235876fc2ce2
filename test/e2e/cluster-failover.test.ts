import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, waitForCliOutput, type CliRun } from '../helpers/cli-run.js';
import { redisSkip, startRedis } from '../helpers/redis.js';
import { freePort, TOKEN, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';
import { echoes } from '../helpers/echo-client.js';

/**
 * Issue 22, `serverAddrs`: two nodes as `burrow server` processes, a client
 * holding a session with each, and one node killed with SIGKILL while users
 * keep coming to the other.
 */

const A = '127.0.0.2';
const B = '127.0.0.3';

test('serverAddrs: kill -9 of one node process; users of the other are served on, with no reconnect', { skip: redisSkip }, async (t) => {
  const kit = tunnelKit(t);
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const dir = mkdtempSync(join(tmpdir(), 'burrow-failover-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  const tcpPort = await freePort();
  const echo = await kit.startEcho();
  const startNode = async (name: string, host: string): Promise<{ run: CliRun; port: number }> => {
    const file = join(dir, `${name}.toml`);
    writeFileSync(
      file,
      [
        `bindAddr = "${host}"`,
        'bindPort = 0',
        `proxyBindAddr = "${host}"`,
        `auth.token = "${TOKEN}"`,
        `cluster.redis = "${redis.url}"`,
        `cluster.nodeName = "${name}"`,
        'cluster.secret = "cluster-secret-for-tests"',
        'cluster.linkPort = 0',
        'cluster.leaseSeconds = 3',
        '',
      ].join('\n'),
    );
    const run = runCli(['server', '-c', file, '--log-level', 'info']);
    whenDone(t, () => run.child.kill('SIGKILL'));
    const [, port] = await waitForCliOutput(run, 'stderr', new RegExp(`server listening addr=${host.replace(/\./g, '\\.')}:(\\d+)`));
    await waitForCliOutput(run, 'stderr', /cluster: node started/);
    return { run, port: Number(port) };
  };
  const a = await startNode('a', A);
  const b = await startNode('b', B);

  const client = kit.makeClient(a.port, {
    proxies: [{ name: 'ssh', type: 'tcp', localIP: '127.0.0.1', localPort: echo.port, remotePort: tcpPort }],
    extra: { serverAddr: A, serverAddrs: [`${A}:${a.port}`, `${B}:${b.port}`] },
  });
  await client.start();
  // Each node says when it holds the proxy (the second session registers on its own).
  await Promise.all([a, b].map((n) => waitForCliOutput(n.run, 'stderr', /proxy started.* proxy=ssh\b/)));
  const data = Buffer.alloc(10_000, 3);
  assert.ok(await echoes(A, tcpPort, data), 'A serves the port');
  assert.ok(await echoes(B, tcpPort, data), 'B serves the port');

  const results: Array<{ at: number; ok: boolean }> = [];
  let running = true;
  const users = (async () => {
    while (running) {
      const at = performance.now();
      results.push({ at, ok: await echoes(B, tcpPort, data) });
    }
  })();
  await waitFor(() => results.filter((r) => r.ok).length >= 20, 'users to be served before the kill');
  const gone = a.run.exit;
  a.run.child.kill('SIGKILL');
  await gone;
  const killedAt = performance.now();
  await waitFor(() => client.sessions[0]!.state === 'reconnecting', 'the session to A to notice');
  await waitFor(() => results.filter((r) => r.at > killedAt && r.ok).length >= 20, 'users to be served after the kill');
  running = false;
  await users;

  assert.deepEqual(
    results.filter((r) => r.at > killedAt && !r.ok),
    [],
    'every user who came after the kill was served',
  );
  assert.equal(client.sessions[1]!.state, 'online', 'the session to B never dropped');
  assert.equal(client.sessions[1]!.reconnectAttempts, 0);
  const okTimes = results.filter((r) => r.ok).map((r) => r.at);
  let gap = 0;
  for (let i = 1; i < okTimes.length; i++) gap = Math.max(gap, okTimes[i]! - okTimes[i - 1]!);
  console.log(`serverAddrs failover (kill -9): the longest wait between two served users around the kill: ${gap.toFixed(1)} ms`);
});
