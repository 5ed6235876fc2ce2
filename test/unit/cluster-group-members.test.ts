import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupMembers } from '../../src/cluster/group-members.js';
import type { RedisLink } from '../../src/cluster/redis-link.js';

/**
 * The table of other nodes' group members, read from a stand-in for Redis
 * (members keys as sorted sets scored by lease end), with the clock driven
 * by the test.
 */
function fakeRedis(sets: Map<string, Array<[string, number]>>, redisNow: () => number): RedisLink {
  const client = {
    scan: async () => ['0', [...sets.keys()]],
    pipeline() {
      const ops: Array<() => unknown> = [];
      const p = {
        time() {
          ops.push(() => [String(Math.floor(redisNow() / 1000)), String((redisNow() % 1000) * 1000)]);
          return p;
        },
        zrange(key: string) {
          ops.push(() => (sets.get(key) ?? []).flatMap(([m, s]) => [m, String(s)]));
          return p;
        },
        exec: async () => ops.map((op) => [null, op()]),
      };
      return p;
    },
  };
  return { run: (fn: (r: unknown) => Promise<unknown>) => fn(client) } as unknown as RedisLink;
}

const entry = (n: string) => JSON.stringify({ n, l: `${n}.link:7100` });

test('round robin over local members and other nodes; a node that failed is skipped until its entry is renewed; its own entry and expired ones are left out', async () => {
  let now = 1_000_000;
  const lease = 3000;
  const sets = new Map<string, Array<[string, number]>>([
    [
      'burrow:members:tcp:6000',
      [
        [entry('self'), now + lease],
        [entry('b'), now + lease],
        [entry('c'), now + lease],
        [entry('gone'), now - 1],
      ],
    ],
  ]);
  const members = new GroupMembers(
    fakeRedis(sets, () => now),
    'self',
    1000,
    lease,
    () => now,
  );
  await members.refresh();
  assert.deepEqual(
    members.nodes('tcp', '6000').map((g) => g.n),
    ['b', 'c'],
  );
  // Two local members and two other nodes: four slots in turn.
  const picks = Array.from({ length: 8 }, () => members.pick('tcp', '6000', 2)?.n ?? 'local');
  assert.deepEqual(picks, ['local', 'local', 'b', 'c', 'local', 'local', 'b', 'c']);
  assert.equal(members.pick('tcp', '7000', 1), undefined, 'a group with no other node: always local');

  const b = members.nodes('tcp', '6000')[0]!;
  members.suspect(b);
  assert.deepEqual(
    members.nodes('tcp', '6000').map((g) => g.n),
    ['c'],
    'b is skipped once its link failed',
  );
  // The same entry read again (not renewed): still skipped.
  now += 500;
  await members.refresh();
  assert.deepEqual(
    members.nodes('tcp', '6000').map((g) => g.n),
    ['c'],
  );
  // b renews its lease after the failure (it came back): it is used again.
  sets.set('burrow:members:tcp:6000', [
    [entry('b'), now + lease + 600],
    [entry('c'), now + lease],
  ]);
  await members.refresh();
  assert.deepEqual(
    members.nodes('tcp', '6000').map((g) => g.n),
    ['b', 'c'],
  );
  // Entries past their lease go even without a refresh.
  now += lease + 1;
  assert.deepEqual(
    members.nodes('tcp', '6000').map((g) => g.n),
    ['b'],
  );
  assert.deepEqual([...members.tcpPorts().keys()], [6000]);
});

test('a vhost name falls under the group claim a router would match: the exact name, then wildcards', async () => {
  const now = 5_000_000;
  const sets = new Map<string, Array<[string, number]>>([['burrow:members:http:*.example.com', [[entry('b'), now + 3000]]]]);
  const members = new GroupMembers(
    fakeRedis(sets, () => now),
    'self',
    1000,
    3000,
    () => now,
  );
  await members.refresh();
  assert.equal(members.domainId('http', 'App.Example.com'), '*.example.com');
  assert.equal(members.domainId('https', 'app.example.com'), undefined);
  assert.deepEqual(members.entries(10), [{ kind: 'http', id: '*.example.com', nodes: ['b'] }]);
});
