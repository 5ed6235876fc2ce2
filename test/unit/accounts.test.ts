import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainGlob, expiryInstant, quotaPeriodStart, trafficBytes } from '../../src/config/account-terms.js';
import { Account } from '../../src/server/accounts/account.js';
import { registrationRefusal } from '../../src/server/accounts/registration.js';
import { UsageStore } from '../../src/server/accounts/usage-store.js';
import { UserTable } from '../../src/server/accounts/user-table.js';
import { LoginThrottle } from '../../src/server/login-throttle.js';
import { accountPorts } from '../../src/server/port-policy.js';
import { IpRules } from '../../src/util/ip-rules.js';
import { problems, serverConfig, type RawServerConfig } from '../helpers/config.js';

type RawUser = NonNullable<RawServerConfig['users']>[number];
const user = (extra: RawUser = {}) => serverConfig({ users: [{ name: 'alice', token: 'a', ...extra }] }).users[0]!;

test('traffic sizes, expiry dates and domain globs read as documented', () => {
  assert.equal(trafficBytes('1KB'), 1024);
  assert.equal(trafficBytes('100GB'), 100 * 1024 ** 3);
  assert.equal(trafficBytes('1.5TB'), Math.trunc(1.5 * 1024 ** 4));
  assert.equal(trafficBytes(''), 0);
  assert.throws(() => trafficBytes('10 gigs'), /is not a size/);
  assert.throws(() => trafficBytes('0GB'), /not above 0/);

  assert.equal(expiryInstant('2027-06-30'), Date.UTC(2027, 6, 1), 'a date is usable to its last second');
  assert.equal(expiryInstant('2027-06-30T12:00:00Z'), Date.UTC(2027, 5, 30, 12));
  assert.equal(expiryInstant(''), undefined);
  assert.throws(() => expiryInstant('2027-02-30'), /not a calendar date/);
  assert.throws(() => expiryInstant('next year'), /not a date/);

  const g = domainGlob('*.alice.example.com');
  assert.equal(g.test('a.alice.example.com'), true);
  assert.equal(g.test('a.b.alice.example.com'), true);
  assert.equal(g.test('alice.example.com'), false);
  assert.equal(g.test('a.alice.example.com.evil.net'), false);
  assert.equal(g.test('xalice.example.com'), false);
  assert.throws(() => domainGlob('*alice.com'), /not a domain glob/);
});

test('a quota period starts on its reset day, or the last day of a shorter month', () => {
  assert.equal(quotaPeriodStart(1, Date.UTC(2026, 11, 6, 16)), Date.UTC(2026, 11, 1));
  assert.equal(quotaPeriodStart(15, Date.UTC(2026, 11, 6)), Date.UTC(2026, 10, 15));
  assert.equal(quotaPeriodStart(31, Date.UTC(2027, 1, 28, 1)), Date.UTC(2027, 1, 28), 'February has no 31st');
  assert.equal(quotaPeriodStart(31, Date.UTC(2027, 0, 5)), Date.UTC(2026, 11, 31), 'across the year');
});

test('IP rules: allow list, deny list, IPv6 and IPv4-mapped addresses', () => {
  const r = new IpRules(['10.0.0.0/8', '2001:db8::/32'], ['10.9.0.0/16']);
  assert.equal(r.allows('10.1.2.3'), true);
  assert.equal(r.allows('::ffff:10.1.2.3'), true);
  assert.equal(r.allows('10.9.1.1'), false);
  assert.equal(r.allows('2001:db8::1'), true);
  assert.equal(r.allows('[2001:db9::1]'), false);
  assert.equal(r.allows('127.0.0.1'), false);
  assert.equal(r.allows('not an address'), false);
  assert.equal(IpRules.from([], []), undefined);
  assert.equal(new IpRules([], ['127.0.0.1']).allows('127.0.0.2'), true);
  assert.throws(() => new IpRules(['10.0.0.0/40'], []), /not an IP address or CIDR block/);
  assert.throws(() => new IpRules(['10.0.0.0/8/1'], []), /not an IP address or CIDR block/);
});

test('failed logins: refused past the limit for a minute, per address; a success clears the count', () => {
  let now = 1_000_000;
  const t = new LoginThrottle(3, () => now);
  assert.equal(t.failed('a'), false);
  assert.equal(t.failed('a'), false);
  t.succeeded('a');
  assert.equal(t.failed('a'), false);
  assert.equal(t.failed('a'), false);
  assert.equal(t.failed('a'), true, 'the third failure starts the refusal (said once)');
  assert.equal(t.refusedFor('a'), 60);
  assert.equal(t.refusedFor('b'), 0, 'another address is not touched');
  now += 59_000;
  assert.equal(t.refusedFor('a'), 1);
  now += 1_000;
  assert.equal(t.refusedFor('a'), 0);
  assert.equal(t.failed('a'), false, 'a fresh window');
});

test('usage counters: per period, saved whole, read back; a foreign file stops the start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-usage-unit-'));
  try {
    const file = join(dir, 'usage.json');
    const store = new UsageStore(file);
    store.load();
    store.add('alice', 100, 1000);
    store.add('alice', 50, 1000);
    assert.equal(store.used('alice', 1000), 150);
    store.add('alice', 7, 2000);
    assert.equal(store.used('alice', 1000), 0, 'an older period counts as nothing');
    assert.equal(store.used('alice', 2000), 7);
    store.save();
    const again = new UsageStore(file);
    again.load();
    assert.equal(again.used('alice', 2000), 7);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: 1, users: { alice: { periodStart: 2000, bytes: 7 } } });
    writeFileSync(file, '{"users": 3}');
    assert.throws(() => new UsageStore(file).load(), /not burrow's usage counters/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registration: names under the user, maxProxies, ports, domains; the user is named', () => {
  const a = new Account(user({ allowPorts: [{ start: 6000, end: 6010 }], allowDomains: ['*.alice.example.com'], maxProxies: 2 }), 'a');
  assert.equal(registrationRefusal(a, { remote_port: 6005 }, 'alice.ok', 'tcp', 0, ''), undefined);
  assert.match(registrationRefusal(a, { remote_port: 7000 }, 'alice.p', 'udp', 0, '') ?? '', /^user \[alice\]: port 7000/);
  assert.equal(registrationRefusal(a, { remote_port: 0 }, 'alice.p', 'tcp', 0, ''), undefined);
  assert.match(registrationRefusal(a, {}, 'alice.p', 'tcp', 2, '') ?? '', /maxProxies 2 reached/);
  assert.match(registrationRefusal(a, {}, 'bob.p', 'xtcp', 0, '') ?? '', /not under "alice\."/);
  assert.match(registrationRefusal(a, { subdomain: 'x' }, 'alice.w', 'tcpmux', 0, 'example.com') ?? '', /domain "x.example.com"/);
  assert.equal(registrationRefusal(a, { custom_domains: ['X.Alice.Example.com'] }, 'alice.w', 'https', 0, ''), undefined);
});

test('the ports of a user are their allowPorts within the server’s', () => {
  assert.deepEqual(accountPorts([{ start: 1000, end: 2000 }], [{ start: 1500, end: 2500 }]), [{ start: 1500, end: 2000 }]);
  assert.deepEqual(accountPorts([], [{ start: 5, end: 6 }]), [{ start: 5, end: 6 }]);
  assert.deepEqual(accountPorts([{ start: 5, end: 6 }], []), [{ start: 5, end: 6 }]);
  const none = accountPorts([{ start: 1, end: 2 }], [{ start: 3, end: 4 }]);
  assert.equal(
    none.some((r) => r.start <= r.end),
    false,
    'nothing in common: no port at all',
  );
});

test('a reload keeps an unchanged account (its live counts and bucket) and reports changed and removed ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-users-unit-'));
  try {
    const tokenFile = join(dir, 'bob.token');
    writeFileSync(tokenFile, 'bob-secret\n');
    const cfg = serverConfig({
      users: [
        { name: 'alice', token: 'a', bandwidthLimit: '1MB' },
        { name: 'bob', tokenFile },
        { name: 'carol', token: 'c' },
      ],
    }).users;
    const first = new UserTable(cfg);
    assert.equal(first.get('bob')!.token, 'bob-secret');
    first.get('alice')!.openConnections = 3;
    writeFileSync(tokenFile, 'rotated');
    const next = new UserTable([cfg[0]!, cfg[1]!], first);
    assert.equal(next.get('alice'), first.get('alice'));
    assert.equal(next.get('alice')!.openConnections, 3);
    assert.deepEqual(first.revokedBy(next).sort(), ['bob', 'carol']);
    assert.throws(() => new UserTable([{ ...cfg[1]!, tokenFile: join(dir, 'missing') }]), /users\[0\]\.tokenFile: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('[[users]] config errors name the entry and the key', () => {
  const found = problems(() =>
    serverConfig({
      users: [
        { name: 'alice', token: 'a', tokenFile: '/x' },
        { name: 'alice', token: 'b', allowPorts: [{ start: 9, end: 1 }] },
        { name: 'c', token: 'c', trafficQuota: 'lots', expires: '30/06/2027', allowDomains: ['*bad'], bandwidthLimit: '1GB' },
        { name: 'd' },
        { name: 'e', token: 'test-token' },
      ],
    }),
  );
  const text = found.join('\n');
  for (const want of [
    /users\[0\]\.tokenFile: cannot be set together with token/,
    /users\[1\]\.name: duplicate user name "alice"/,
    /users\[1\]\.allowPorts\[0\]: invalid port range 9-1/,
    /users\[2\]\.trafficQuota: "lots" is not a size/,
    /users\[2\]\.expires: "30\/06\/2027" is not a date/,
    /users\[2\]\.allowDomains\[0\]: "\*bad" is not a domain glob/,
    /users\[2\]\.bandwidthLimit: .*unit not supported/,
    /users\[3\]\.token: required \(or tokenFile\)/,
    /users\[4\]\.token: must differ from auth\.token/,
  ]) {
    assert.match(text, want);
  }
});
