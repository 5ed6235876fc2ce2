import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServerConfig } from '../../src/config/load.js';
import { parseRedisTarget } from '../../src/config/redis-url.js';

test('a server without cluster.redis is a single server: the cluster keys keep their defaults', () => {
  const cfg = buildServerConfig({});
  assert.equal(cfg.cluster.redis, '');
  assert.equal(cfg.cluster.leaseSeconds, 10);
  assert.equal(cfg.cluster.linkPort, 7100);
  assert.equal(cfg.cluster.tls, false);
});

test('cluster.redis needs a secret of 16 characters or more', () => {
  assert.throws(() => buildServerConfig({ cluster: { redis: 'redis://10.0.0.5:6379' } }), /cluster\.secret.*required when cluster\.redis is set/);
  assert.throws(() => buildServerConfig({ cluster: { redis: 'redis://10.0.0.5:6379', secret: 'short' } }), /cluster\.secret.*at least 16 characters/);
  const cfg = buildServerConfig({ cluster: { redis: 'rediss://:pw@10.0.0.5:6380/2', secret: 'sixteen-chars-ok', nodeName: 'n1', advertiseAddr: '10.0.0.11' } });
  assert.equal(cfg.cluster.nodeName, 'n1');
});

test('cluster.redis must be a redis:// or rediss:// URL', () => {
  assert.throws(() => buildServerConfig({ cluster: { redis: '10.0.0.5:6379', secret: 'sixteen-chars-ok' } }), /cluster\.redis.*redis:\/\/ or rediss:\/\//);
  assert.throws(() => buildServerConfig({ cluster: { redis: 'http://10.0.0.5', secret: 'sixteen-chars-ok' } }), /cluster\.redis/);
});

test('a lease under 3 seconds is refused (heartbeats go every third of it)', () => {
  assert.throws(() => buildServerConfig({ cluster: { leaseSeconds: 1 } }), /cluster\.leaseSeconds/);
});

test('cluster.redis may name a primary through its Sentinels: redis+sentinel://[:password@]host:port[,host:port…]/mastername[/db]', () => {
  const ok = (redis: string) => buildServerConfig({ cluster: { redis, secret: 'sixteen-chars-ok' } }).cluster.redis;
  assert.equal(ok('redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7/mymaster'), 'redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7/mymaster');
  assert.deepEqual(parseRedisTarget('redis+sentinel://:p%40ss@[::1]:26380,sentinel.example:1/primary-1/3'), {
    kind: 'sentinel',
    sentinels: [
      { host: '::1', port: 26380 },
      { host: 'sentinel.example', port: 1 },
    ],
    name: 'primary-1',
    username: '',
    password: 'p@ss',
    db: 3,
  });
  assert.deepEqual(parseRedisTarget('redis+sentinel://app:pw@s1/m'), {
    kind: 'sentinel',
    sentinels: [{ host: 's1', port: 26379 }],
    name: 'm',
    username: 'app',
    password: 'pw',
    db: 0,
  });
  assert.deepEqual(parseRedisTarget('rediss://:pw@10.0.0.5:6380/2'), { kind: 'url', url: 'rediss://:pw@10.0.0.5:6380/2' });
});

test('a malformed Sentinel URL is refused, naming cluster.redis and what is wrong', () => {
  const refused = (redis: string, why: RegExp) =>
    assert.throws(
      () => buildServerConfig({ cluster: { redis, secret: 'sixteen-chars-ok' } }),
      (err: Error) => /cluster\.redis/.test(err.message) && why.test(err.message),
    );
  refused('redis+sentinel://10.0.0.5:26379', /names no primary/);
  refused('redis+sentinel://10.0.0.5:26379/', /names no primary/);
  refused('redis+sentinel://10.0.0.5:99999/m', /Sentinel address "10\.0\.0\.5:99999" is not host:port/);
  refused('redis+sentinel://10.0.0.5:26379,,10.0.0.6/m', /Sentinel address "" is not host:port/);
  refused('redis+sentinel://a:1/m/x', /must be a database number/);
  refused('redis+sentinel://a:1/m/1/2', /must be a database number/);
  refused('redis+sentinel://a:1/my master', /characters a Sentinel name does not/);
  refused('redis+sentinel://:%zz@a:1/m', /percent-encoding/);
  refused(`redis+sentinel://${Array.from({ length: 17 }, (_, i) => `h${i}`).join(',')}/m`, /at most 16/);
  refused('sentinel://a:1/m', /redis:\/\/ or rediss:\/\/ URL, or redis\+sentinel:\/\//);
});
