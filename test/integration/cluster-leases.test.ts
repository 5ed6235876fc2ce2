import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimKey, type ClaimValue } from '../../src/cluster/claims.js';
import { LeaseTable } from '../../src/cluster/leases.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { silentLogger } from '../../src/util/logger.js';
import { redisSkip, startRedis } from '../helpers/redis.js';
import { whenDone } from '../helpers/tunnel.js';

const claim = (node: string, run: string, proxy: string): ClaimValue => ({ n: node, l: '127.0.0.1:1', r: run, u: 'u', p: proxy });

test('leases in a real Redis: claims of one key on one node count up, take-overs follow the rules, the last release deletes', {
  skip: redisSkip,
}, async (t) => {
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const link = new RedisLink(redis.url, silentLogger);
  await link.start();
  whenDone(t, () => link.close());
  const get = (key: string) => link.run((r) => r.get(key));
  const a = new LeaseTable(link, 3000, silentLogger);
  const key = claimKey('http', 'shared.example.com');

  // Two routes of one domain registered on this node at once: one claim, counted twice, its value the first's.
  const both = await Promise.all([a.claim(key, claim('a', 'run1', 'p1')), a.claim(key, claim('a', 'run2', 'p2'))]);
  assert.deepEqual(both, [undefined, undefined]);
  assert.equal(await get(key), JSON.stringify(claim('a', 'run1', 'p1')), 'Redis holds the value this node renews');

  // Another node: refused with the holder, unless it registers for the same client (run id).
  const b = new LeaseTable(link, 3000, silentLogger);
  assert.deepEqual(await b.claim(key, claim('b', 'run3', 'p3')), claim('a', 'run1', 'p1'));
  const other = claimKey('tcp', '6000');
  assert.equal(await a.claim(other, claim('a', 'run1', 'ssh')), undefined);
  assert.equal(await b.claim(other, claim('b', 'run1', 'ssh')), undefined, 'the same client takes its port along');
  assert.equal(await get(other), JSON.stringify(claim('b', 'run1', 'ssh')));

  // A later run of node "a" (a restart within the lease) takes back what the earlier one left.
  const aAgain = new LeaseTable(link, 3000, silentLogger);
  assert.equal(await aAgain.claim(key, claim('a', 'run9', 'p9')), undefined);

  // Releases delete only what is still theirs: a's release of the port b took over leaves it.
  a.release(other);
  aAgain.release(key);
  await aAgain.stop(true);
  await a.stop(true);
  assert.equal(await get(key), null);
  assert.equal(await get(other), JSON.stringify(claim('b', 'run1', 'ssh')));
});
