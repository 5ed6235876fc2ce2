import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import type { UserView } from '../../src/admin/users-api.js';
import { loadServerConfig } from '../../src/config/load.js';
import { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { type Managed, startManaged } from '../helpers/managed-users.js';
import { rawLogin } from '../helpers/raw-client.js';
import { echoThrough, patternBytes, portOf, tcpProxy, TOKEN, tunnelKit, whenDone } from '../helpers/tunnel.js';

const AUTH = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };

async function createUser(m: Managed, body: unknown): Promise<{ token: string; user: Record<string, unknown> }> {
  const res = await m.api('/api/users', { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(body) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { token: string; user: Record<string, unknown> };
}

async function listUsers(m: Managed): Promise<{ users: UserView[]; editable: boolean }> {
  const res = await m.api('/api/users', { headers: AUTH });
  assert.equal(res.status, 200);
  return (await res.json()) as { users: UserView[]; editable: boolean };
}

async function refused(port: number): Promise<boolean> {
  const probe = connect({ host: '127.0.0.1', port });
  const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
  return err.code === 'ECONNREFUSED';
}

test('create: the token is shown once and a stock-frpc-style login with it works; the server config file is never touched', async (t) => {
  const m = await startManaged(t);
  const before = readFileSync(m.configFile, 'utf8');
  const created = await createUser(m, { name: 'dave', maxProxies: 3, allowPorts: [{ start: 1024, end: 65535 }], trafficQuota: '1GB' });
  assert.match(created.token, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(created.user.token, undefined);
  assert.equal(created.user.maxProxies, 3);

  const dave = await rawLogin(m.server.port, { user: 'dave', token: created.token });
  whenDone(t, () => dave.close());
  const resp = await dave.newProxy({ proxy_name: 'dave.web', proxy_type: 'tcp', remote_port: 0 });
  assert.equal(resp.type === 'NewProxyResp' && resp.body.error, undefined);
  await assert.rejects(rawLogin(m.server.port, { user: 'dave', token: TOKEN }), /user \[dave\]: authorization failed/);

  // No GET answers the token again; the list says where each account is defined, with its proxies and limits.
  const listText = await (await m.api('/api/users', { headers: AUTH })).text();
  assert.ok(!listText.includes(created.token), 'the token is answered by GET /api/users');
  const { users, editable } = await listUsers(m);
  assert.equal(editable, true);
  const row = users.find((u) => u.name === 'dave');
  assert.ok(row, listText);
  assert.equal(row.source, 'file');
  assert.equal(row.online, true);
  assert.deepEqual(row.proxyNames, ['dave.web']);
  assert.equal(row.maxProxies, 3);
  assert.equal(row.trafficQuota, 1024 ** 3);
  assert.deepEqual(row.limits.allowPorts, [{ start: 1024, end: 65535 }]);
  assert.equal(users.find((u) => u.name === 'carol')?.source, 'config');

  assert.equal(readFileSync(m.configFile, 'utf8'), before);
  const usersFile = join(m.dir, 'users.toml');
  assert.equal(statSync(usersFile).mode & 0o777, 0o600);
  const text = readFileSync(usersFile, 'utf8');
  assert.match(text, /^# burrow accounts, written by the server dashboard/);
  assert.match(text, /\[\[users\]\]\nname = "dave"\ntoken = "[^"]+"\nallowPorts = \[\{ start = 1024, end = 65535 \}\]\nmaxProxies = 3\ntrafficQuota = "1GB"\n/);
});

test("disable closes the user's sessions at once and refuses their logins with the reason; enable lets them back", async (t) => {
  const m = await startManaged(t);
  const { token } = await createUser(m, { name: 'dave' });
  const dave = await rawLogin(m.server.port, { user: 'dave', token });
  whenDone(t, () => dave.close());
  const res = await m.api('/api/users/dave', { method: 'PUT', headers: JSON_AUTH, body: JSON.stringify({ disabled: true }) });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(((await res.json()) as { closed: string[] }).closed, ['dave']);
  assert.deepEqual(
    m.server.clients.map((c) => c.user),
    [],
  );
  await assert.rejects(rawLogin(m.server.port, { user: 'dave', token }), /login refused: user \[dave\]: account disabled/);
  assert.equal((await listUsers(m)).users.find((u) => u.name === 'dave')?.disabled, true);

  await m.api('/api/users/dave', { method: 'PUT', headers: JSON_AUTH, body: JSON.stringify({ disabled: false, maxConnections: 5 }) });
  (await rawLogin(m.server.port, { user: 'dave', token })).close();
  assert.equal((await listUsers(m)).users.find((u) => u.name === 'dave')?.maxConnections, 5);
});

test("delete frees the user's port while another user keeps serving; rotate replaces the token", async (t) => {
  const m = await startManaged(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const dave = await createUser(m, { name: 'dave' });
  const erin = await createUser(m, { name: 'erin' });
  const client = (user: string, token: string) =>
    kit.makeClient(m.server.port, { token, extra: { user }, proxies: [tcpProxy('t', echo.port, { remotePort: 0 })] });
  const daveClient = client('dave', dave.token);
  const erinClient = client('erin', erin.token);
  await daveClient.start();
  await erinClient.start();
  const davePort = portOf((await daveClient.waitForProxy('t')).remoteAddr);
  const erinPort = portOf((await erinClient.waitForProxy('t')).remoteAddr);

  const res = await m.api('/api/users/dave', { method: 'DELETE', headers: AUTH });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await refused(davePort), true);
  const data = patternBytes(4000, 3);
  assert.deepEqual(await echoThrough(erinPort, data), data);
  assert.equal((await m.api('/api/users/dave', { method: 'DELETE', headers: AUTH })).status, 404);
  assert.ok(!readFileSync(join(m.dir, 'users.toml'), 'utf8').includes('"dave"'));

  await erinClient.stop();
  const rotated = await m.api('/api/users/erin/token', { method: 'POST', headers: AUTH });
  assert.equal(rotated.status, 200);
  const { token } = (await rotated.json()) as { token: string };
  assert.notEqual(token, erin.token);
  await assert.rejects(rawLogin(m.server.port, { user: 'erin', token: erin.token }), /user \[erin\]: authorization failed/);
  (await rawLogin(m.server.port, { user: 'erin', token })).close();
});

test('the users file, read again by a fresh server, gives the same accounts; its header comment is kept', async (t) => {
  const m = await startManaged(t);
  const usersFile = join(m.dir, 'users.toml');
  writeFileSync(usersFile, '# our family accounts\n# (kept by the dashboard)\n\n[[users]]\nname = "frank"\ntoken = "frank-secret"\n');
  const { token } = await createUser(m, { name: 'dave', allowDomains: ['*.dave.example.com'], expires: '2099-12-31', quotaResetDay: 15 });
  assert.match(readFileSync(usersFile, 'utf8'), /^# our family accounts\n# \(kept by the dashboard\)\n\n\[\[users\]\]\nname = "frank"/);
  const before = (await listUsers(m)).users;

  const again = new BurrowServer(loadServerConfig(m.configFile), silentLogger);
  await again.start();
  whenDone(t, () => again.stop());
  const after = again.accounts.report(() => 0);
  assert.deepEqual(
    after.map((u) => [u.name, u.limits, u.expires]),
    before.map((u) => [u.name, u.limits, u.expires]),
  );
  (await rawLogin(again.port, { user: 'dave', token })).close();
  (await rawLogin(again.port, { user: 'frank', token: 'frank-secret' })).close();
});

test("bad input is a 400 naming the field; the server config's users are read-only", async (t) => {
  const m = await startManaged(t);
  const post = async (body: unknown): Promise<{ status: number; msg: string }> => {
    const res = await m.api('/api/users', { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(body) });
    return { status: res.status, msg: ((await res.json()) as { Msg: string }).Msg };
  };
  const cases: [unknown, RegExp][] = [
    [{ name: 'dave', maxProxies: -1 }, /^maxProxies: /],
    [{ name: 'dave', trafficQuota: 'lots' }, /^trafficQuota: "lots" is not a size/],
    [{ name: 'dave', expires: 'soon' }, /^expires: /],
    [{ name: 'dave', allowDomains: ['bad domain'] }, /^allowDomains\[0\]: /],
    [{ name: 'dave', allowPorts: [{ start: 9, end: 2 }] }, /^allowPorts/],
    [{ name: 'two words' }, /^name: "two words" is not a user name/],
    [{}, /^name: required/],
    [{ name: 'dave', token: 'mine' }, /^token: the token is generated by the server/],
    [{ name: 'dave', maxProxys: 1 }, /^maxProxys: unknown key/],
    [[1, 2], /the body must be a JSON object/],
  ];
  for (const [body, want] of cases) {
    const got = await post(body);
    assert.equal(got.status, 400, JSON.stringify(body));
    assert.match(got.msg, want, JSON.stringify(body));
  }
  const notJson = await m.api('/api/users', { method: 'POST', headers: JSON_AUTH, body: '{name' });
  assert.equal(notJson.status, 400);
  assert.deepEqual(await post({ name: 'carol' }), { status: 409, msg: 'name: user "carol" is defined in the server config; it can only be changed there' });
  const edit = await m.api('/api/users/carol', { method: 'PUT', headers: JSON_AUTH, body: '{"disabled": true}' });
  assert.equal(edit.status, 409);
  assert.equal((await m.api('/api/users/nobody', { method: 'PUT', headers: JSON_AUTH, body: '{}' })).status, 404);
  await createUser(m, { name: 'dave' });
  assert.equal((await post({ name: 'dave' })).status, 409);
  const badEdit = await m.api('/api/users/dave', { method: 'PUT', headers: JSON_AUTH, body: '{"quotaResetDay": 40}' });
  assert.equal(badEdit.status, 400);
  assert.match(((await badEdit.json()) as { Msg: string }).Msg, /^quotaResetDay: /);
  const rename = await m.api('/api/users/dave', { method: 'PUT', headers: JSON_AUTH, body: '{"name": "eve"}' });
  assert.match(((await rename.json()) as { Msg: string }).Msg, /^name: cannot be changed here/);
  // Nothing refused reached the running accounts.
  assert.deepEqual((await listUsers(m)).users.map((u) => u.name).sort(), ['carol', 'dave']);
});

test('writes need the dashboard login, refuse other sites and say so without usersFile', async (t) => {
  const m = await startManaged(t);
  const body = JSON.stringify({ name: 'dave' });
  assert.equal((await m.api('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 401);
  const cross = await m.api('/api/users', { method: 'POST', headers: { ...JSON_AUTH, 'sec-fetch-site': 'cross-site' }, body });
  assert.equal(cross.status, 403);
  const form = await m.api('/api/users', { method: 'POST', headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=dave' });
  assert.equal(form.status, 415);
  // enctype="text/plain" lets a cross-site form send a body that parses as JSON.
  const textPlain = await m.api('/api/users', { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: '{"name":"dave","x":"="}' });
  assert.equal(textPlain.status, 415);
  assert.equal((await m.api('/api/users/carol', { method: 'DELETE', headers: { ...AUTH, origin: 'https://evil.example' } })).status, 403);
  assert.deepEqual(
    (await listUsers(m)).users.map((u) => u.name),
    ['carol'],
  );

  const open = await startManaged(t, { password: false });
  const res = await open.api('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { Msg: string }).Msg, /set webServer\.user and webServer\.password/);
  assert.equal((await listUsers(open)).editable, false);

  const plain = await startManaged(t, { usersFile: false });
  const none = await plain.api('/api/users', { method: 'POST', headers: JSON_AUTH, body });
  assert.equal(none.status, 404);
  assert.match(((await none.json()) as { Msg: string }).Msg, /set usersFile in the server config/);
});

test('with a users file and no auth.token, only listed users log in, even while the file is empty', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-users-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'frps.toml');
  writeFileSync(configFile, 'bindAddr = "127.0.0.1"\nbindPort = 0\nusersFile = "users.toml"\n');
  const server = new BurrowServer(loadServerConfig(configFile), silentLogger);
  await server.start();
  whenDone(t, () => server.stop());
  await assert.rejects(rawLogin(server.port, { user: 'anyone', token: '' }), /user \[anyone\] is not an account on this server/);
});
