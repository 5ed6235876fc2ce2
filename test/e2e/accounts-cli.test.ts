import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawLogin } from '../helpers/raw-client.js';
import { freePort } from '../helpers/tunnel.js';

/** The CLI as a user runs it: the built bin in dist/. */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

const spawned = new Set<ChildProcess>();
after(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runServer(file: string): { child: ChildProcess; stderr: () => string; waitFor(re: RegExp): Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [BIN, 'server', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = once(child, 'exit');
  return {
    child,
    stderr: () => err,
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

test('SIGHUP re-reads [[users]]: a removed user is logged out at once, the other stays; counters are saved beside the config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-accounts-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'frps.toml');
  const head = 'bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "global"\n';
  const alice = '\n[[users]]\nname = "alice"\ntoken = "alice-secret"\n';
  const bob = '\n[[users]]\nname = "bob"\ntoken = "bob-secret"\ntrafficQuota = "1GB"\n';
  writeFileSync(file, head + alice + bob);
  const server = runServer(file);
  const [, port] = await server.waitFor(/server listening addr=127\.0\.0\.1:(\d+)/);

  const a = await rawLogin(Number(port), { user: 'alice', token: 'alice-secret' });
  const b = await rawLogin(Number(port), { user: 'bob', token: 'bob-secret' });
  t.after(() => {
    a.close();
    b.close();
  });
  writeFileSync(file, head + bob);
  server.child.kill('SIGHUP');
  await server.waitFor(/users reloaded.*closed=alice/);
  // alice's control was closed by the server: her next read ends.
  await assert.rejects(a.next(5000), /closed|ended|timed out/);
  await assert.rejects(rawLogin(Number(port), { user: 'alice', token: 'alice-secret' }), /token in login does not match/);
  const resp = await b.newProxy({ proxy_name: 'bob.still', proxy_type: 'tcp', remote_port: 0 });
  assert.equal(resp.type === 'NewProxyResp' && resp.body.error, undefined);

  // A broken file changes nothing.
  writeFileSync(file, `${head}\n[[users]]\nname = "bob"\n`);
  server.child.kill('SIGHUP');
  await server.waitFor(/users reload refused, the running accounts are unchanged: [\s\S]*users\[0\]\.token: required/);

  server.child.kill('SIGTERM');
  await once(server.child, 'exit');
  const usage = `${file}.usage.json`;
  assert.ok(existsSync(usage), 'the counters are written beside the config at stop');
  assert.equal((JSON.parse(readFileSync(usage, 'utf8')) as { version: number }).version, 1);
});

test('burrow server -c with usersFile: the dashboard adds a user to that file only, and SIGHUP reads hand edits of it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-accounts-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'frps.toml');
  const dashboardPort = await freePort();
  const config = [
    "# the operator's own notes",
    'bindAddr = "127.0.0.1"',
    'bindPort = 0',
    'auth.token = "global"',
    'usersFile = "users.toml"',
    'webServer.addr = "127.0.0.1"',
    `webServer.port = ${dashboardPort}`,
    'webServer.user = "admin"',
    'webServer.password = "pw"',
    '',
  ].join('\n');
  writeFileSync(file, config);
  const server = runServer(file);
  const [, port] = await server.waitFor(/server listening addr=127\.0\.0\.1:(\d+)/);
  await server.waitFor(/admin API listening/);

  const res = await fetch(`http://127.0.0.1:${dashboardPort}/api/users`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dave', maxProxies: 1 }),
  });
  assert.equal(res.status, 201);
  const { token } = (await res.json()) as { token: string };
  (await rawLogin(Number(port), { user: 'dave', token })).close();
  assert.equal(readFileSync(file, 'utf8'), config);

  const usersFile = join(dir, 'users.toml');
  writeFileSync(usersFile, `${readFileSync(usersFile, 'utf8')}\n[[users]]\nname = "erin"\ntoken = "erin-secret"\n`);
  server.child.kill('SIGHUP');
  await server.waitFor(/users reloaded users=2/);
  (await rawLogin(Number(port), { user: 'erin', token: 'erin-secret' })).close();
  (await rawLogin(Number(port), { user: 'dave', token })).close();
  server.child.kill('SIGTERM');
  await once(server.child, 'exit');
  assert.ok(existsSync(`${file}.usage.json`), 'the counters of users-file accounts are kept beside the config too');
});
