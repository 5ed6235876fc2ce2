import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runHostileScenario } from '../helpers/hostile-run.js';

const MiB = 1024 * 1024;

/**
 * Garbage from many unauthenticated peers at once, at the bind port and every
 * vhost port of a real server process, while a real tunnel keeps echoing.
 * The seed is fixed so a failure can be replayed; `npm run hostile` runs the
 * same scenario longer and harder.
 */
test('hostile traffic neither crashes the server nor disturbs a tunnel, and leaves nothing behind', async (t) => {
  const result = await runHostileScenario({ durationMs: 10_000, concurrency: 48, seed: 16, rssSlackBytes: 64 * MiB, recoverMs: 30_000 });
  t.diagnostic(JSON.stringify({ opened: result.attack.opened, bytesSent: result.attack.bytesSent, echoes: result.echoes, server: result.server }));
  const detail = JSON.stringify({ ...result, serverLog: undefined }) + '\n' + result.serverLog;
  assert.equal(result.server.exitedDuring, null, `the server process exited during the attack: ${detail}`);
  assert.equal(result.echoes.failed, 0, `echoes through the tunnel failed: ${detail}`);
  // At least one echo per second of attack, so "no echo failed" means the tunnel was in use.
  assert.ok(result.echoes.ok >= 10, `only ${result.echoes.ok} echoes completed: ${detail}`);
  assert.ok(result.server.after.fds <= result.server.before.fds, `descriptors did not come back to ${result.server.before.fds}: ${detail}`);
  assert.ok(result.server.after.rssBytes <= result.server.before.rssBytes + 64 * MiB, `RSS stayed more than 64 MiB over its baseline: ${detail}`);
  // Every kind of garbage reached every port it is meant for.
  const labels = Object.keys(result.attack.opened);
  for (const label of [
    'bind:websocket-garbage',
    'bind:yamux-around-login',
    'bind:frp-frames',
    'vhostHttps:half-client-hello',
    'vhostHttp:endless-http-head',
    'tcpmux:endless-http-head',
  ]) {
    assert.ok(labels.includes(label), `no ${label} connection was made: ${labels.join(', ')}`);
  }
});
