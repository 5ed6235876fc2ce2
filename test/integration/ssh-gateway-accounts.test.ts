import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { reloadAccounts } from '../../src/server/accounts/revocation.js';
import { serverConfig, type RawServerConfig } from '../helpers/config.js';
import { keyDir, runSsh, serverSshPort, startGateway } from '../helpers/ssh-gateway.js';
import { echoThrough, freePort, portOf, tunnelKit, waitFor } from '../helpers/tunnel.js';

const ALICE = 'alice-secret';

/** A key pair in `dir` whose public line carries `comment` ('' = none). */
function makeKey(dir: string, name: string, comment: string): { key: string; pub: string } {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8') };
}

/** A gateway that lets in alice's key (comment `alice`), bob's (`bob`) and one without a comment; `accounts` on the server. */
async function keyedGateway(t: TestContext, accounts: RawServerConfig) {
  const { dir, key: aliceKey, pub } = keyDir(t);
  const bob = makeKey(dir, 'id_bob', 'bob');
  const anonymous = makeKey(dir, 'id_anon', '');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, `${pub}${bob.pub}${anonymous.pub}`);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '', authorizedKeysFile: authorized }, accounts);
  const ssh = (key: string, command: string[]) => runSsh(t, serverSshPort(server), key, echo.port, command);
  return { server, ssh, keys: { alice: aliceKey, bob: bob.key, anonymous: anonymous.key } };
}

test("an SSH key naming a listed account gets that account's limits; refusals name the user; disabling it ends the tunnel", async (t) => {
  const allowed = await freePort();
  const outside = await freePort();
  const alice = { name: 'alice', token: ALICE, allowPorts: [{ start: allowed, end: allowed }], maxProxies: 1 };
  const { server, ssh, keys } = await keyedGateway(t, { users: [alice] });

  const wrongPort = ssh(keys.alice, ['tcp', '-n', 'out', '-r', String(outside)]);
  assert.equal(await wrongPort.exited, 1);
  assert.match(wrongPort.stdout, new RegExp(`user \\[alice\\]: port ${outside} is not in this user's allowPorts`));

  const tunnel = ssh(keys.alice, ['tcp', '-n', 'web', '-r', String(allowed)]);
  const [, remoteAddr = ''] = await tunnel.waitForOutput(/RemoteAddress: (\S+)/);
  assert.match(tunnel.stdout, /User: alice\n/);
  assert.equal(portOf(remoteAddr), allowed);
  assert.deepEqual(await echoThrough(allowed, Buffer.from('as alice')), Buffer.from('as alice'));
  assert.equal(server.clients.find((c) => c.user === 'alice')?.account?.name, 'alice');

  const second = ssh(keys.alice, ['tcp', '-n', 'more', '-r', '0']);
  assert.equal(await second.exited, 1);
  assert.match(second.stdout, /user \[alice\]: maxProxies 1 reached/);

  // Disabled by a reload (what the dashboard does): the running tunnel ends at once, the next login is refused by name.
  assert.deepEqual(reloadAccounts(server.accounts, server.clients, serverConfig({ users: [{ ...alice, disabled: true }] }).users), ['alice']);
  assert.equal(await tunnel.exited, 1);
  assert.match(tunnel.stdout, /the tunnel ended: user \[alice\]: account disabled/);
  const refused = ssh(keys.alice, ['tcp', '-n', 'web', '-r', String(allowed)]);
  assert.equal(await refused.exited, 1);
  assert.match(refused.stdout, /user \[alice\]: account disabled/);
});

test('an expired account is refused over SSH with the reason', async (t) => {
  const { ssh, keys } = await keyedGateway(t, { users: [{ name: 'alice', token: ALICE, expires: '2020-01-31' }] });
  const run = ssh(keys.alice, ['tcp', '-n', 'web', '-r', '0']);
  assert.equal(await run.exited, 1);
  assert.match(run.stdout, /user \[alice\]: account expired \(expires = "2020-01-31"\)/);
});

test('a key naming an unlisted user gets in only where the global token would: auth.token set, not with accounts alone', async (t) => {
  const onlyListed = await keyedGateway(t, { auth: { token: '' }, users: [{ name: 'alice', token: ALICE }] });
  const refused = onlyListed.ssh(onlyListed.keys.bob, ['tcp', '-n', 'web', '-r', '0']);
  assert.equal(await refused.exited, 1);
  assert.match(refused.stdout, /user \[bob\] is not an account on this server/);
  assert.equal(onlyListed.server.clients.length, 0);

  const withGlobal = await keyedGateway(t, { users: [{ name: 'alice', token: ALICE }] });
  const bob = withGlobal.ssh(withGlobal.keys.bob, ['tcp', '-n', 'web', '-r', '0']);
  const [, remoteAddr = ''] = await bob.waitForOutput(/RemoteAddress: (\S+)/);
  assert.match(bob.stdout, /User: bob\n/);
  assert.deepEqual(await echoThrough(portOf(remoteAddr), Buffer.from('as bob')), Buffer.from('as bob'));
  // Listing bob later closes the tunnel he opened without an account, so his account's limits apply from his next login.
  const users = serverConfig({
    users: [
      { name: 'alice', token: ALICE },
      { name: 'bob', token: 'bob-secret' },
    ],
  }).users;
  assert.deepEqual(reloadAccounts(withGlobal.server.accounts, withGlobal.server.clients, users), ['bob']);
  assert.equal(await bob.exited, 1);
  assert.match(bob.stdout, /the tunnel ended: user \[bob\] is now an account on this server; connect again to use it/);
});

test("a key without a comment may not claim a listed account with --user: that takes the account's own --token", async (t) => {
  const { server, ssh, keys } = await keyedGateway(t, { users: [{ name: 'alice', token: ALICE }] });
  const claimed = ssh(keys.anonymous, ['tcp', '-n', 'web', '-r', '0', '--user', 'alice']);
  assert.equal(await claimed.exited, 1);
  assert.match(claimed.stdout, /user \[alice\]: authorization failed/);

  const withToken = ssh(keys.anonymous, ['tcp', '-n', 'web', '-r', '0', '--user', 'alice', '--token', ALICE]);
  await withToken.waitForOutput(/User: alice\n/);
  await waitFor(() => server.clients.some((c) => c.account?.name === 'alice'), "alice's client");
  // An unlisted --user is let in by the key, as frp does.
  const carol = ssh(keys.anonymous, ['tcp', '-n', 'web', '-r', '0', '--user', 'carol']);
  await carol.waitForOutput(/User: carol\n/);
});
