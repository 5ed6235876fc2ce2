import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { loadClientConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/logger.js';
import { echoThrough, patternBytes, portOf, startEcho, startServer, TOKEN, waitFor } from '../helpers/tunnel.js';

const auth = (user: string, pwd: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pwd}`).toString('base64')}` });

test('client admin API: frp paths and shapes, auth, reload and config', async () => {
  const echo = await startEcho();
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'burrow-admin-'));
  const file = join(dir, 'frpc.toml');
  const base = `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "${TOKEN}"\n\n[[proxies]]\nname = "ssh"\ntype = "tcp"\nlocalPort = ${echo.port}\n\n[[proxies]]\nname = "web"\ntype = "udp"\nlocalPort = ${echo.port}\n`;
  writeFileSync(file, base);
  const client = new BurrowClient(loadClientConfig(file), silentLogger);
  let stopped = false;
  const admin = await startClientAdmin({
    client,
    configFile: file,
    addr: '127.0.0.1',
    port: 0,
    user: 'admin',
    password: 's3cret',
    logger: silentLogger,
    stop: () => (stopped = true),
  });
  const url = (path: string) => `http://127.0.0.1:${admin.port}${path}`;
  const ok = auth('admin', 's3cret');
  try {
    await client.start();
    await client.waitForProxy('ssh');
    await client.waitForProxy('web');

    assert.equal((await fetch(url('/healthz'))).status, 200, 'healthz needs no credentials');
    const refused = await fetch(url('/api/status'), { headers: auth('admin', 'wrong') });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="Restricted"');
    assert.doesNotMatch(await refused.text(), /ssh|admin|s3cret/, 'no detail for a refused request');

    const status = (await (await fetch(url('/api/status'), { headers: ok })).json()) as Record<string, Array<Record<string, string>>>;
    assert.deepEqual(Object.keys(status).sort(), ['tcp', 'udp']);
    const ssh = status.tcp![0]!;
    assert.deepEqual(Object.keys(ssh), ['name', 'type', 'status', 'err', 'local_addr', 'plugin', 'remote_addr']);
    assert.equal(ssh.status, 'running');
    assert.equal(ssh.local_addr, `127.0.0.1:${echo.port}`);
    assert.match(ssh.remote_addr!, /^127\.0\.0\.1:\d+$/);
    assert.equal(status.udp![0]!.status, 'running');
    assert.match(status.udp![0]!.remote_addr!, /^127\.0\.0\.1:\d+$/, 'udp shows the server address and its UDP port');

    assert.equal(await (await fetch(url('/api/config'), { headers: ok })).text(), base);

    // An invalid file is refused with its problems and nothing changes.
    const bad = base + `\n[[proxies]]\nname = "x"\nlocalPrt = 1\n`;
    assert.equal((await fetch(url('/api/config'), { method: 'PUT', headers: ok, body: bad })).status, 200);
    assert.equal(readFileSync(file, 'utf8'), bad);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const badReload = await fetch(url('/api/reload'), { headers: ok });
    assert.equal(badReload.status, 400);
    const err = (await badReload.json()) as { Code: number; Msg: string };
    assert.equal(err.Code, 400);
    assert.match(err.Msg, /proxies\[2\]\.localPrt: unknown key, did you mean localPort\?/);
    assert.equal(client.status('ssh')?.phase, 'running');

    // A valid file adds the new proxy and keeps the old one serving.
    writeFileSync(file, base + `\n[[proxies]]\nname = "more"\nlocalPort = ${echo.port}\n`);
    const good = await fetch(url('/api/reload'), { headers: ok });
    assert.equal(good.status, 200);
    assert.deepEqual(await good.json(), { added: ['more'], removed: [], changed: [] });
    assert.equal(client.status('web')?.phase, 'running', 'the unchanged udp proxy keeps running');
    const more = await client.waitForProxy('more');
    const data = patternBytes(10_000, 21);
    assert.ok((await echoThrough(portOf(more.remoteAddr), data)).equals(data));

    assert.equal((await fetch(url('/api/config'), { method: 'PUT', headers: ok, body: '  ' })).status, 400);
    assert.equal((await fetch(url('/api/nothing'), { headers: ok })).status, 404);
    assert.equal((await fetch(url('/api/stop'), { method: 'POST', headers: ok })).status, 200);
    await waitFor(() => stopped, 'the stop callback');
  } finally {
    client.stop();
    await admin.close();
    await server.stop();
    await echo.close();
  }
});
