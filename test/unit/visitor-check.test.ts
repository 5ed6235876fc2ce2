import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenDigest } from '../../src/protocol/auth.js';
import { SecretServerProxy } from '../../src/proxy/shared/secret-server.js';
import { VISITOR_MAX_CLOCK_SKEW_S } from '../../src/proxy/shared/visitor-signature.js';
import { visitedProxyName } from '../../src/proxy/shared/visitor-conn.js';
import { checkVisitorConn, type VisitorLookup } from '../../src/server/visitor-conn.js';
import { isBurrowError, type BurrowErrorCode } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { buildClientConfig } from '../../src/config/load.js';
import { problems } from '../helpers/config.js';

const NOW = 1_700_000_000;

const proxy = new SecretServerProxy({
  type: 'stcp',
  name: 'alice.db',
  sk: 'secret',
  allowUsers: [],
  ownerUser: 'alice',
  ownerFeatures: [],
  payload: {},
  getWorkConn: () => Promise.reject(new Error('unused')),
  logger: silentLogger,
});
const lookup: VisitorLookup = {
  userOfRunId: (id) => ({ r1: 'alice', r2: 'bob' })[id],
  findProxy: (name) => (name === 'alice.db' ? proxy : undefined),
};

function refusedWith(code: BurrowErrorCode, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => isBurrowError(err, code) || assert.fail(`expected ${code}, got ${String(err)}`));
}

test('visitor sign_key is md5(sk + timestamp): the reference vector', () => {
  assert.equal(tokenDigest('secret', 1700000000), 'e37729af62f40f134311cffbc230178e');
});

test('visitor checks: client, proxy, signature, clock, user — each with its code', () => {
  const ok = { run_id: 'r1', proxy_name: 'alice.db', sign_key: tokenDigest('secret', NOW), timestamp: NOW };
  assert.equal(checkVisitorConn(ok, lookup, NOW).user, 'alice');
  refusedWith('BURROW_VISITOR_REFUSED', () => checkVisitorConn({ ...ok, run_id: 'nobody' }, lookup, NOW));
  refusedWith('BURROW_VISITOR_UNKNOWN_PROXY', () => checkVisitorConn({ ...ok, proxy_name: 'bob.db' }, lookup, NOW));
  refusedWith('BURROW_AUTH_FAILED', () => checkVisitorConn({ ...ok, sign_key: tokenDigest('guess', NOW) }, lookup, NOW));
  // A wrong key is reported as such even when the clock is off too: nothing else is revealed.
  refusedWith('BURROW_AUTH_FAILED', () => checkVisitorConn({ ...ok, sign_key: 'x', timestamp: 0 }, lookup, NOW));
  const edge = NOW - VISITOR_MAX_CLOCK_SKEW_S;
  assert.equal(checkVisitorConn({ ...ok, timestamp: edge, sign_key: tokenDigest('secret', edge) }, lookup, NOW).user, 'alice');
  const late = edge - 1;
  refusedWith('BURROW_VISITOR_CLOCK_SKEW', () => checkVisitorConn({ ...ok, timestamp: late, sign_key: tokenDigest('secret', late) }, lookup, NOW));
  const ahead = NOW + VISITOR_MAX_CLOCK_SKEW_S + 1;
  refusedWith('BURROW_VISITOR_CLOCK_SKEW', () => checkVisitorConn({ ...ok, timestamp: ahead, sign_key: tokenDigest('secret', ahead) }, lookup, NOW));
  refusedWith('BURROW_VISITOR_NOT_ALLOWED', () => checkVisitorConn({ ...ok, run_id: 'r2' }, lookup, NOW));
  // frp still accepts an empty run_id (clients before 0.50); the user is then empty.
  refusedWith('BURROW_VISITOR_NOT_ALLOWED', () => checkVisitorConn({ ...ok, run_id: '' }, lookup, NOW));
});

test('a visitor names the proxy with serverUser, else its own user, as frp', () => {
  const [v] = buildClientConfig({ visitors: [{ name: 'v', type: 'stcp', serverName: 'db', bindPort: 1 }] }).visitors;
  assert.ok(v);
  assert.equal(visitedProxyName(v, ''), 'db');
  assert.equal(visitedProxyName(v, 'bob'), 'bob.db');
  assert.equal(visitedProxyName({ ...v, serverUser: 'alice' }, 'bob'), 'alice.db');
});

test('an xtcp visitor’s fallbackTo must name an stcp visitor of the same client', () => {
  const xtcp = { name: 'p2p', type: 'xtcp', serverName: 'desk', bindPort: 1, fallbackTo: 'relay' };
  assert.deepEqual(
    problems(() => buildClientConfig({ visitors: [xtcp] })),
    ['visitors[0].fallbackTo: no visitor is named "relay"'],
  );
  assert.deepEqual(
    problems(() => buildClientConfig({ visitors: [xtcp, { name: 'relay', type: 'sudp', serverName: 'desk', bindPort: 2 }] })),
    ['visitors[0].fallbackTo: "relay" is a sudp visitor; an xtcp visitor falls back to an stcp visitor'],
  );
  const ok = buildClientConfig({ visitors: [xtcp, { name: 'relay', type: 'stcp', serverName: 'desk', bindPort: -1 }] });
  assert.equal(ok.visitors[0]?.fallbackTo, 'relay');
});
