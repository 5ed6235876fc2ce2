import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSessions } from '../../src/client/extra-sessions.js';
import { buildClientConfig, loadClientConfig } from '../../src/config/load.js';

test('serverAddrs: one session per entry, the first in serverAddr/serverPort; the others with no visitors, no store, no udp, and one shared session id', () => {
  const cfg = buildClientConfig({
    serverAddrs: ['n1.example.com:7000', '[2001:db8::2]:7001'],
    proxies: [
      { name: 'ssh', type: 'tcp', localPort: 22, remotePort: 6000 },
      { name: 'dns', type: 'udp', localPort: 53, remotePort: 6053 },
    ],
    visitors: [{ name: 'v', type: 'stcp', serverName: 's', bindPort: 9000, secretKey: 'k' }],
  });
  const plan = planSessions(cfg);
  assert.equal(plan.first.serverAddr, 'n1.example.com');
  assert.equal(plan.first.serverPort, 7000);
  assert.equal(plan.first.visitors.length, 1, 'the first session runs the visitors');
  assert.equal(plan.more.length, 1);
  assert.equal(plan.more[0]!.serverAddr, '2001:db8::2');
  assert.equal(plan.more[0]!.serverPort, 7001);
  assert.deepEqual(plan.more[0]!.visitors, []);
  assert.equal(plan.more[0]!.loginFailExit, false, 'a node down at start is retried');
  assert.match(plan.group, /^[0-9a-f]{32}$/);
  assert.notEqual(planSessions(cfg).group, plan.group, 'each client process has its own');
  assert.equal(planSessions(buildClientConfig({ serverAddr: 'x' })).group, '', 'one session: no session id');
});

test('serverAddrs entries are host:port, none twice, at most 16; serverAddr may only repeat the first', () => {
  assert.throws(() => buildClientConfig({ serverAddrs: ['a:7000', 'b'] }), /serverAddrs\[1\]: "b" is not host:port/);
  assert.throws(() => buildClientConfig({ serverAddrs: ['a:7000', 'a:7000'] }), /serverAddrs\[1\]: "a:7000" is listed twice/);
  assert.throws(() => buildClientConfig({ serverAddrs: ['a:70000'] }), /is not host:port/);
  assert.throws(() => buildClientConfig({ serverAddrs: Array.from({ length: 17 }, (_, i) => `n${i}:7000`) }), /serverAddrs: 17 entries; at most 16/);
  assert.throws(() => buildClientConfig({ serverAddr: 'other', serverAddrs: ['a:7000', 'b:7000'] }), /serverAddr: set serverAddrs alone/);
  assert.doesNotThrow(() => buildClientConfig({ serverAddr: 'a', serverPort: 7000, serverAddrs: ['a:7000', 'b:7000'] }));
});

test('serverAddrs has no INI form: the key is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-addrs-'));
  try {
    const file = join(dir, 'frpc.ini');
    writeFileSync(file, '[common]\nserver_addrs = a:7000\n');
    assert.throws(() => loadClientConfig(file), /server_addrs: unknown key/);
    const yaml = join(dir, 'frpc.yaml');
    writeFileSync(yaml, 'serverAddrs:\n  - "a:7000"\n  - "b:7000"\n');
    assert.deepEqual(loadClientConfig(yaml).serverAddrs, ['a:7000', 'b:7000']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
