import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawLogin } from '../helpers/raw-client.js';
import { redisSkip, startRedis } from '../helpers/redis.js';

/** The CLI as a user runs it: the built bin in dist/. */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

const spawned = new Set<ChildProcess>();
after(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runServer(file: string): { child: ChildProcess; waitFor(re: RegExp): Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [BIN, 'server', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (process.env.SHOW) process.stdout.write(c);
  });
  const exited = once(child, 'exit');
  return {
    child,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = err.match(re);
          if (!m) return;
          child.stderr!.off('data', check);
          resolve(m);
        };
        child.stderr!.on('data', check);
        void exited.then(([code]) => reject(new Error(`exited (${String(code)}) before printing ${re}: ${err}`)));
        check();
      }),
  };
}

test('a SIGHUP on one node of a cluster logs a removed user out of every node', { skip: redisSkip }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.kill());
  const dir = mkdtempSync(join(tmpdir(), 'burrow-cluster-accounts-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const users = (names: string[]) => names.map((n) => `\n[[users]]\nname = "${n}"\ntoken = "${n}-secret"\n`).join('');
  const config = (name: string) =>
    `bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "global"\n` +
    `cluster.redis = "${redis.url}"\ncluster.nodeName = "${name}"\ncluster.secret = "cluster-secret-for-tests"\ncluster.linkPort = 0\n`;
  const fileA = join(dir, 'a.toml');
  const fileB = join(dir, 'b.toml');
  writeFileSync(fileA, config('a') + users(['alice', 'bob']));
  writeFileSync(fileB, config('b') + users(['alice', 'bob']));
  const a = runServer(fileA);
  const b = runServer(fileB);
  await a.waitFor(/server listening addr=127\.0\.0\.1:(\d+)/);
  const [, portB] = await b.waitFor(/server listening addr=127\.0\.0\.1:(\d+)/);
  await b.waitFor(/listening to the other nodes' events/);

  const alice = await rawLogin(Number(portB), { user: 'alice', token: 'alice-secret' });
  const bob = await rawLogin(Number(portB), { user: 'bob', token: 'bob-secret' });
  t.after(() => {
    alice.close();
    bob.close();
  });
  // The same users on every node: the file changes everywhere, one node is told.
  writeFileSync(fileA, config('a') + users(['bob']));
  writeFileSync(fileB, config('b') + users(['bob']));
  a.child.kill('SIGHUP');
  await b.waitFor(/users reloaded by another node .*from=a reread=true closed=alice/);
  await b.waitFor(/client disconnected .*user=alice reason="account of user \[alice\] removed or changed by a reload"/);
  await assert.rejects(rawLogin(Number(portB), { user: 'alice', token: 'alice-secret' }), /token in login does not match/);
  const resp = await bob.newProxy({ proxy_name: 'bob.still', proxy_type: 'tcp', remote_port: 0 });
  assert.equal(resp.type === 'NewProxyResp' && resp.body.error, undefined, 'bob keeps his session');
});
