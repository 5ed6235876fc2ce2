import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServerConfig } from '../../src/config/load.js';

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
