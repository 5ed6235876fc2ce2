import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainOwners } from '../../src/vhost/domain-owners.js';
import { VhostRouter, type VhostRoute } from '../../src/vhost/router.js';
import { VhostConnectionGate } from '../../src/server/vhost-gate.js';
import { addressKey } from '../../src/util/address.js';
import { isBurrowError } from '../../src/util/errors.js';

function route(domain: string, name: string, user: string, extra: Partial<VhostRoute<string>> = {}): VhostRoute<string> {
  return { domain, location: '', routeByHTTPUser: '', name, value: name, user, ...extra };
}

const ownedByAnother = (domain: string) => (err: unknown) =>
  isBurrowError(err, 'BURROW_PROXY_REJECTED') && err.message.includes(`domain [${domain}] belongs to another user`);

test('ownership: any new route of another user on an owned domain is refused, on every router sharing the owners', () => {
  const owners = new DomainOwners();
  const http = new VhostRouter<string>(owners);
  const https = new VhostRouter<string>(owners);
  http.add(route('Shop.example.com', 'a', 'alice'));
  assert.throws(() => http.add(route('shop.example.com', 'b1', 'bob', { location: '/' })), ownedByAnother('shop.example.com'));
  assert.throws(() => http.add(route('shop.example.com', 'b2', 'bob', { routeByHTTPUser: 'carol' })), ownedByAnother('shop.example.com'));
  assert.throws(() => https.add(route('shop.example.com', 'b3', 'bob')), ownedByAnother('shop.example.com'));
  http.add(route('shop.example.com', 'a2', 'alice', { location: '/api' }));
  assert.equal(http.lookup('shop.example.com', '/', 'carol'), 'a');
  assert.equal(http.size, 2);
});

test('ownership: another user joins only an existing group with its key; the domain frees a grace period after its last route', () => {
  let now = 0;
  const router = new VhostRouter<string>(new DomainOwners(120_000, () => now));
  router.add(route('lb.example.com', 'a', 'alice', { group: 'g', groupKey: 'k' }));
  assert.throws(() => router.add(route('lb.example.com', 'b', 'bob', { group: 'g', groupKey: 'K' })), ownedByAnother('lb.example.com'));
  assert.throws(() => router.add(route('lb.example.com', 'b', 'bob', { group: 'other', groupKey: 'k' })), ownedByAnother('lb.example.com'));
  router.add(route('lb.example.com', 'b', 'bob', { group: 'g', groupKey: 'k' }));
  // The owner leaving does not hand the domain to the member: it stays alice's while a route is left.
  assert.equal(router.remove({ domain: 'lb.example.com', location: '', routeByHTTPUser: '', name: 'a' }), true);
  assert.throws(() => router.add(route('lb.example.com', 'c', 'bob', { location: '/x' })), ownedByAnother('lb.example.com'));
  assert.equal(router.remove({ domain: 'lb.example.com', location: '', routeByHTTPUser: '', name: 'b' }), true);
  // No route is left, but alice may be on her way back.
  now += 119_999;
  assert.throws(() => router.add(route('lb.example.com', 'c', 'bob', { location: '/x' })), ownedByAnother('lb.example.com'));
  now += 1;
  router.add(route('lb.example.com', 'c', 'bob', { location: '/x' }));
  assert.equal(router.lookup('lb.example.com', '/x/1', ''), 'c');
});

test('ownership: the owner comes back within the grace period; a group without a key is closed to other users', () => {
  let now = 0;
  const router = new VhostRouter<string>(new DomainOwners(120_000, () => now));
  router.add(route('home.example.com', 'nas', 'alice'));
  router.remove({ domain: 'home.example.com', location: '', routeByHTTPUser: '', name: 'nas' });
  now += 60_000;
  router.add(route('home.example.com', 'nas', 'alice'));
  now += 600_000;
  assert.throws(
    () => router.add(route('home.example.com', 'x', 'bob', { location: '/x' })),
    ownedByAnother('home.example.com'),
    'held again, so no grace runs',
  );
  router.add(route('open.example.com', 'o1', 'alice', { group: 'g' }));
  router.add(route('open.example.com', 'o2', 'alice', { group: 'g' }));
  assert.throws(() => router.add(route('open.example.com', 'o3', 'bob', { group: 'g' })), ownedByAnother('open.example.com'));
});

test('ownership: a same-user duplicate is the frp conflict, a wrong key of the same user the group error', () => {
  const router = new VhostRouter<string>();
  router.add(route('a.com', 'one', 'alice'));
  assert.throws(() => router.add(route('a.com', 'two', 'alice')), /location \[\] routeByHTTPUser \[\] is already used by proxy \[one\]/);
  router.add(route('g.com', 'g1', 'alice', { group: 'g', groupKey: 'k' }));
  assert.throws(() => router.add(route('g.com', 'g2', 'alice', { group: 'g', groupKey: 'kk' })), /group \[g\] auth failed/);
});

test('connection gate: caps per address and in total; IPv4-mapped counts as IPv4, IPv6 per /64', () => {
  assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb::2'));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  const gate = new VhostConnectionGate({ perAddress: 2, total: 3 });
  const r1 = gate.admit('192.0.2.7');
  const r2 = gate.admit('::ffff:192.0.2.7');
  assert.ok(r1 && r2);
  assert.equal(gate.admit('192.0.2.7'), undefined);
  const r3 = gate.admit('2001:db8::1');
  assert.ok(r3);
  assert.equal(gate.admit('2001:db8::2'), undefined, 'the total is reached');
  r1();
  r1();
  assert.equal(gate.open, 2, 'a release counts once');
  assert.ok(gate.admit('192.0.2.7'));
  const open = new VhostConnectionGate({ perAddress: 0, total: 10 });
  for (let i = 0; i < 10; i++) assert.ok(open.admit('192.0.2.1'), '0 = no per-address cap');
  assert.equal(open.admit('192.0.2.1'), undefined);
});
