import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, loadServerConfig } from '../../src/config/load.js';
import { readUsersFile, usersFileText } from '../../src/config/users-file.js';
import { checkStartPolicy } from '../../src/server/start-policy.js';
import { silentLogger } from '../../src/util/logger.js';

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'burrow-usersfile-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Writes the server config and the users file into `d`; returns the config's path. */
function files(d: string, users: string | undefined, extra = ''): string {
  const config = join(d, 'frps.toml');
  writeFileSync(config, `bindPort = 7000\nauth.token = "global"\nusersFile = "users.toml"\n${extra}\n[[users]]\nname = "carol"\ntoken = "c"\n`);
  if (users !== undefined) writeFileSync(join(d, 'users.toml'), users);
  return config;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test("the users file's accounts follow the config's own; the path is taken from the config file's folder", (t) => {
  const d = dir(t);
  const config = loadServerConfig(files(d, '[[users]]\nname = "dave"\ntoken = "d"\nmaxProxies = 2\n'));
  assert.deepEqual(
    config.users.map((u) => [u.name, u.maxProxies]),
    [
      ['carol', 0],
      ['dave', 2],
    ],
  );
  assert.equal(config.usersFile, join(d, 'users.toml'));
  // burrow convert writes what the config file itself says: the file's users stay in their file.
  const loaded = loadConfigFile(join(d, 'frps.toml'), { kind: 'server' });
  assert.deepEqual(
    (loaded.normalized.users as { name: string }[]).map((u) => u.name),
    ['carol'],
  );
});

test('problems in the users file are named by the file; a name in both is one of them', (t) => {
  const d = dir(t);
  assert.deepEqual(
    problemsOf(() => loadServerConfig(files(d, '[[users]]\nname = "carol"\ntoken = "x"\n\n[[users]]\nname = "dave"\ntoken = "d"\nmaxProxies = -1\n'))),
    ['users.toml: users[1].maxProxies: -1 is out of range 0–100000', 'users.toml: users[0].name: duplicate user name "carol"'],
  );
  assert.match(
    problemsOf(() => loadServerConfig(files(d, 'bindPort = 1\n')))[0] ?? '',
    /^usersFile "users.toml": bindPort: a users file holds only \[\[users\]\]/,
  );
  assert.match(problemsOf(() => loadServerConfig(files(d, '[[users]\n')))[0] ?? '', /^usersFile "users.toml": cannot parse TOML/);
});

test('a missing users file is an empty one; with OIDC a users file is refused like [[users]]', (t) => {
  const d = dir(t);
  assert.deepEqual(
    loadServerConfig(files(d, undefined)).users.map((u) => u.name),
    ['carol'],
  );
  const oidc = join(d, 'oidc.toml');
  writeFileSync(oidc, 'bindPort = 7000\nauth.method = "oidc"\nauth.oidc.issuer = "https://issuer.example"\nusersFile = "users.toml"\n');
  assert.deepEqual(
    problemsOf(() => loadServerConfig(oidc)),
    ['users: per-user tokens need auth.method = "token"'],
  );
});

test('a users file means accounts are in use: an empty token on a public address is not an open server', (t) => {
  const d = dir(t);
  const config = join(d, 'frps.toml');
  writeFileSync(config, 'bindAddr = "0.0.0.0"\nbindPort = 7000\nusersFile = "users.toml"\n');
  assert.doesNotThrow(() => checkStartPolicy(loadServerConfig(config), silentLogger));
  writeFileSync(config, 'bindAddr = "0.0.0.0"\nbindPort = 7000\n');
  assert.throws(() => checkStartPolicy(loadServerConfig(config), silentLogger), /auth\.token is empty/);
});

test('the file text keeps its leading comments and reads back as the same entries', (t) => {
  const d = dir(t);
  const file = join(d, 'users.toml');
  writeFileSync(file, '# ours\n#   indented note\n\n# second block\n[[users]]\nname = "x"\ntoken = "t"\n# lost\n');
  const read = readUsersFile(file);
  assert.ok(!('problem' in read));
  assert.equal(read.header, '# ours\n#   indented note\n\n# second block');
  const entries = [{ name: 'dave', token: 'd', allowPorts: [{ start: 6000, end: 6000 }], disabled: true }];
  writeFileSync(file, usersFileText(entries, read.header));
  const again = readUsersFile(file);
  assert.ok(!('problem' in again));
  assert.equal(again.header, read.header);
  assert.deepEqual(JSON.parse(JSON.stringify(again.users)), [{ name: 'dave', token: 'd', allowPorts: [{ single: 6000 }], disabled: true }]);
});
