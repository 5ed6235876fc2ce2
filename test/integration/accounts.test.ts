import { reloadAccounts } from '../../src/server/accounts/revocation.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerDashboard } from '../../src/admin/server-api.js';
import type { AccountReport } from '../../src/server/accounts/accounts.js';
import { BurrowServer } from '../../src/server/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { serverConfig, type RawServerConfig } from '../helpers/config.js';
import { rawLogin } from '../helpers/raw-client.js';
import { captureLog, echoThrough, freePort, patternBytes, portOf, tcpProxy, TOKEN, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

const ALICE = 'alice-secret';
const BOB = 'bob-secret';

type RawUser = NonNullable<RawServerConfig['users']>[number];

function users(alice: RawUser = {}, bob: RawUser = {}): RawUser[] {
  return [
    { name: 'alice', token: ALICE, ...alice },
    { name: 'bob', token: BOB, ...bob },
  ];
}

/** A connection that is accepted and then closed by the server without a byte: the refusal a user connection meets. */
async function closedWithoutReply(port: number): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write('hello');
  let got = 0;
  socket.on('data', (c: Buffer) => (got += c.length));
  await once(socket, 'close');
  return got === 0;
}

test('a listed user logs in with their own token (stock-frpc Login and burrow client); the global token is refused for them; others still use it', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer({ users: users() });

  // A stock frpc: md5(own token + timestamp), and its control cipher keyed by its own token (the raw client derives it so).
  const raw = await rawLogin(server.port, { user: 'alice', token: ALICE });
  whenDone(t, () => raw.close());
  const resp = await raw.newProxy({ proxy_name: 'alice.raw', proxy_type: 'tcp', remote_port: 0 });
  assert.equal(resp.type === 'NewProxyResp' && resp.body.error, undefined);

  await assert.rejects(
    rawLogin(server.port, { user: 'alice', token: TOKEN }),
    /login refused: user \[alice\]: authorization failed: the token in login does not match/,
  );
  const carol = await rawLogin(server.port, { user: 'carol', token: TOKEN });
  carol.close();

  // A burrow client of alice's, its work connections encrypted with the key of alice's token.
  const client = kit.makeClient(server.port, {
    token: ALICE,
    extra: { user: 'alice' },
    proxies: [tcpProxy('enc', echo.port, { remotePort: 0, transport: { useEncryption: true } })],
  });
  await client.start();
  const port = portOf((await client.waitForProxy('enc')).remoteAddr);
  const data = patternBytes(5000, 3);
  assert.deepEqual(await echoThrough(port, data), data);
});

test('wire v2: the control cipher of a listed user comes from their own token too', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer({ users: users() });
  const client = kit.makeClient(server.port, {
    token: BOB,
    extra: { user: 'bob', transport: { wireProtocol: 'v2' } },
    proxies: [tcpProxy('v2', echo.port, { transport: { useEncryption: true } })],
  });
  await client.start();
  const data = patternBytes(3000, 11);
  assert.deepEqual(await echoThrough(portOf((await client.waitForProxy('v2')).remoteAddr), data), data);
  assert.equal(server.clients[0]?.wireProtocol, 'v2');
});

test('with auth.token omitted only listed users log in', async (t) => {
  const kit = tunnelKit(t);
  const server = await kit.startServer({ auth: { token: '' }, users: users() });
  await assert.rejects(rawLogin(server.port, { user: 'carol', token: '' }), /user \[carol\] is not an account on this server/);
  (await rawLogin(server.port, { user: 'bob', token: BOB })).close();
});

test('ports, domains, names and maxProxies outside the account are refused with the user named', async (t) => {
  const kit = tunnelKit(t);
  const allowed = await freePort();
  const server = await kit.startServer({
    vhostHTTPPort: await freePort(),
    subDomainHost: 'example.net',
    users: users({ allowPorts: [{ start: allowed, end: allowed }], allowDomains: ['*.alice.example.com'], maxProxies: 2 }),
  });
  const alice = await rawLogin(server.port, { user: 'alice', token: ALICE });
  whenDone(t, () => alice.close());
  const errorOf = async (body: Parameters<typeof alice.newProxy>[0]): Promise<string | undefined> => {
    const m = await alice.newProxy(body);
    return m.type === 'NewProxyResp' ? m.body.error : 'not a NewProxyResp';
  };
  assert.match(
    (await errorOf({ proxy_name: 'alice.far', proxy_type: 'tcp', remote_port: allowed + 1 })) ?? '',
    /user \[alice\]: port \d+ is not in this user's allowPorts/,
  );
  assert.match(
    (await errorOf({ proxy_name: 'alice.web', proxy_type: 'http', custom_domains: ['www.bob.example.com'] })) ?? '',
    /user \[alice\]: domain "www.bob.example.com" is not in this user's allowDomains/,
  );
  assert.match((await errorOf({ proxy_name: 'alice.sub', proxy_type: 'http', subdomain: 'shop' })) ?? '', /domain "shop.example.net"/);
  assert.match((await errorOf({ proxy_name: 'bob.mine', proxy_type: 'stcp', sk: 'x' })) ?? '', /user \[alice\]: proxy name "bob.mine" is not under "alice."/);
  // Port 0 is given one of the user's own ports.
  const any = await alice.newProxy({ proxy_name: 'alice.any', proxy_type: 'tcp', remote_port: 0 });
  assert.equal(any.type === 'NewProxyResp' && any.body.remote_addr, `:${allowed}`);
  assert.equal(await errorOf({ proxy_name: 'alice.web', proxy_type: 'http', custom_domains: ['www.alice.example.com'] }), undefined);
  assert.match(
    (await errorOf({ proxy_name: 'alice.third', proxy_type: 'http', custom_domains: ['x.alice.example.com'] })) ?? '',
    /user \[alice\]: maxProxies 2 reached/,
  );
});

test('maxConnections: a user connection past the cap is closed; a place frees when one ends', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const log = captureLog();
  const server = await kit.startServer({ users: users({ maxConnections: 1 }) }, log.logger);
  const client = kit.makeClient(server.port, { token: ALICE, extra: { user: 'alice' }, proxies: [tcpProxy('t', echo.port, { remotePort: 0 })] });
  await client.start();
  const port = portOf((await client.waitForProxy('t')).remoteAddr);
  const held = connect({ host: '127.0.0.1', port });
  held.write('x');
  await once(held, 'data');
  assert.equal(await closedWithoutReply(port), true);
  await log.waitForLine(/user \[alice\]: maxConnections 1 reached/);
  held.destroy();
  const account = server.accounts.find('alice')!;
  await waitFor(() => account.openConnections === 0, 'the held connection to be released');
  const data = patternBytes(1000, 5);
  assert.deepEqual(await echoThrough(port, data), data);
});

test('a tiny traffic quota, once used, refuses new connections and logins; the counters survive a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-usage-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  const usageFile = join(dir, 'usage.json');
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const log = captureLog();
  const overrides: RawServerConfig = { usageFile, users: users({ trafficQuota: '1KB' }) };
  const server = await kit.startServer(overrides, log.logger);
  const client = kit.makeClient(server.port, { token: ALICE, extra: { user: 'alice' }, proxies: [tcpProxy('t', echo.port, { remotePort: 0 })] });
  await client.start();
  const port = portOf((await client.waitForProxy('t')).remoteAddr);
  const data = patternBytes(2000, 7);
  // Admitted while under the quota: it runs to its end.
  assert.deepEqual(await echoThrough(port, data), data);
  assert.equal(await closedWithoutReply(port), true);
  await log.waitForLine(/user \[alice\]: trafficQuota 1KB used up since \d{4}-\d{2}-\d{2}/);
  await assert.rejects(rawLogin(server.port, { user: 'alice', token: ALICE }), /trafficQuota 1KB used up/);
  (await rawLogin(server.port, { user: 'bob', token: BOB })).close();

  // The dashboard shows usage against each limit; Prometheus carries the user label.
  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: 'admin',
    password: 'pw',
    enablePrometheus: true,
    logger: silentLogger,
  });
  whenDone(t, () => dashboard.close());
  const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };
  const api = (await (await fetch(`http://127.0.0.1:${dashboard.port}/api/users`, { headers: auth })).json()) as { users: AccountReport[] };
  const row = api.users.find((u) => u.name === 'alice');
  assert.ok(row && row.trafficUsed >= 2 * data.length && row.trafficQuota === 1024 && row.proxies === 1, JSON.stringify(row));
  const metrics = await (await fetch(`http://127.0.0.1:${dashboard.port}/metrics`, { headers: auth })).text();
  assert.match(metrics, /burrow_server_user_traffic_quota_bytes\{user="alice"\} 1024/);
  assert.match(metrics, /frp_server_traffic_in\{name="alice\.t",type="tcp",user="alice"\} \d+/);
  await client.stop();
  await server.stop();

  const again = new BurrowServer(serverConfig(overrides));
  await again.start();
  whenDone(t, () => again.stop());
  const [alice] = again.accounts.report(() => 0);
  assert.ok(alice && alice.trafficUsed >= 2 * data.length, `counted ${alice?.trafficUsed} bytes after the restart`);
  await assert.rejects(rawLogin(again.port, { user: 'alice', token: ALICE }), /trafficQuota 1KB used up/);
});

test('an expired account cannot log in; the reason names the limit', async (t) => {
  const kit = tunnelKit(t);
  const server = await kit.startServer({ users: users({ expires: '2020-01-31' }) });
  await assert.rejects(rawLogin(server.port, { user: 'alice', token: ALICE }), /user \[alice\]: account expired \(expires = "2020-01-31"\)/);
  (await rawLogin(server.port, { user: 'bob', token: BOB })).close();
});

test('a reload that removes a user closes their clients at once and frees their port; another user keeps serving', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer({ users: users() });
  const proxy = (name: string) => [tcpProxy(name, echo.port, { remotePort: 0 })];
  const alice = kit.makeClient(server.port, { token: ALICE, extra: { user: 'alice' }, proxies: proxy('a') });
  const bob = kit.makeClient(server.port, { token: BOB, extra: { user: 'bob' }, proxies: proxy('b') });
  await alice.start();
  await bob.start();
  const alicePort = portOf((await alice.waitForProxy('a')).remoteAddr);
  const bobPort = portOf((await bob.waitForProxy('b')).remoteAddr);

  const closed = reloadAccounts(server.accounts, server.clients, serverConfig({ users: [{ name: 'bob', token: BOB }] }).users);
  assert.deepEqual(closed, ['alice']);
  assert.deepEqual(
    server.clients.map((c) => c.user),
    ['bob'],
  );
  // The port is free again: nothing listens there any more.
  const probe = connect({ host: '127.0.0.1', port: alicePort });
  const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  const data = patternBytes(3000, 9);
  assert.deepEqual(await echoThrough(bobPort, data), data);
  await assert.rejects(rawLogin(server.port, { user: 'alice', token: ALICE }), /login refused/);

  // Changing bob's token is a revocation too; an unchanged reload is not.
  assert.deepEqual(reloadAccounts(server.accounts, server.clients, serverConfig({ users: [{ name: 'bob', token: BOB }] }).users), []);
  assert.deepEqual(reloadAccounts(server.accounts, server.clients, serverConfig({ users: [{ name: 'bob', token: 'rotated' }] }).users), ['bob']);
});

test('failed logins from one address are refused for a while, with one clear line', async (t) => {
  const kit = tunnelKit(t);
  const log = captureLog();
  const server = await kit.startServer({ limits: { failedLoginsPerIP: 3 }, users: users() }, log.logger);
  for (let i = 0; i < 3; i++) await assert.rejects(rawLogin(server.port, { user: 'alice', token: 'guess' }), /does not match/);
  await log.waitForLine(/3 failed logins from this address within a minute \(limits.failedLoginsPerIP\)/);
  // Even the right token waits now: the check is not made at all.
  await assert.rejects(rawLogin(server.port, { user: 'alice', token: ALICE }), /too many failed logins from this address; try again in \d+ s/);
});

test('POST /api/users/reload does what SIGHUP does, only behind the dashboard login', async (t) => {
  const kit = tunnelKit(t);
  const server = await kit.startServer({ users: users() });
  let next = serverConfig({ users: [{ name: 'bob', token: BOB }] }).users;
  const reloadUsers = () => ({ users: next.length, closed: reloadAccounts(server.accounts, server.clients, next) });
  const alice = await rawLogin(server.port, { user: 'alice', token: ALICE });
  whenDone(t, () => alice.close());
  const open = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: '',
    password: '',
    enablePrometheus: false,
    logger: silentLogger,
    reloadUsers,
  });
  whenDone(t, () => open.close());
  assert.equal((await fetch(`http://127.0.0.1:${open.port}/api/users/reload`, { method: 'POST' })).status, 403);
  assert.deepEqual(
    server.clients.map((c) => c.user),
    ['alice'],
  );

  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: 'admin',
    password: 'pw',
    enablePrometheus: false,
    logger: silentLogger,
    reloadUsers,
  });
  whenDone(t, () => dashboard.close());
  const url = `http://127.0.0.1:${dashboard.port}/api/users/reload`;
  assert.equal((await fetch(url, { method: 'POST' })).status, 401);
  const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };
  const res = await fetch(url, { method: 'POST', headers: auth });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { users: 1, closed: ['alice'] });
  assert.deepEqual(server.clients, []);
  next = [{ ...next[0]!, tokenFile: '/nonexistent/bob.token', token: '' }];
  const bad = await fetch(url, { method: 'POST', headers: auth });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { Msg: string }).Msg, /users reload refused, the running accounts are unchanged: users\[0\]\.tokenFile: cannot read/);
});
