import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientConfig, buildServerConfig, ConfigError } from '../../src/config/load.js';
import { parseStructured } from '../../src/config/sources.js';

function problemsOf(build: () => unknown): string[] {
  try {
    build();
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

// Found by fuzzing (test/fuzz/config.fuzz.ts): 2^53 was accepted, and the TOML written from it cannot be read back.
test('a whole number past the exactly representable range is refused, naming the key', () => {
  const problems = problemsOf(() => buildServerConfig({ userConnTimeout: 9007199254740992 }));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^userConnTimeout: /);
  assert.match(problems[0]!, /whole number/);
  assert.match(problemsOf(() => buildClientConfig({ transport: { poolCount: -9007199254740992 } }))[0]!, /^transport\.poolCount: /);
  // JSON text can carry such a number too.
  const json = parseStructured('{"bindPort": 1e300}', 'json');
  assert.match(problemsOf(() => buildServerConfig(json.value))[0]!, /^bindPort: /);
});

// A Node timer cannot wait longer than 2^31-1 ms: past it, it fires at once, so a huge timeout would act as none.
test('durations in seconds are bounded by what a timer can wait, naming the key', () => {
  assert.equal(buildServerConfig({ userConnTimeout: 2_147_483 }).userConnTimeout, 2_147_483);
  for (const [build, raw, key] of [
    [buildServerConfig, { userConnTimeout: 2_147_484 }, 'userConnTimeout'],
    [buildServerConfig, { vhostHTTPTimeout: 10_000_000 }, 'vhostHTTPTimeout'],
    [buildServerConfig, { transport: { heartbeatTimeout: 3_000_000 } }, 'transport.heartbeatTimeout'],
    [buildClientConfig, { transport: { dialServerTimeout: 3_000_000 } }, 'transport.dialServerTimeout'],
  ] as const) {
    const problems = problemsOf(() => (build as (r: unknown) => unknown)(raw));
    assert.equal(problems.length, 1, problems.join('; '));
    assert.match(problems[0]!, new RegExp(`^${key.replace('.', '\\.')}: .*out of range`));
  }
});

test('proxy and visitor durations are bounded the same way', () => {
  const proxy = { name: 'web', type: 'tcp', localPort: 80, healthCheck: { type: 'tcp', timeoutSeconds: 3_000_000 } };
  assert.match(problemsOf(() => buildClientConfig({ proxies: [proxy] })).join('\n'), /proxies\[0\]\.healthCheck\.timeoutSeconds: .*out of range/);
  const visitor = { name: 'v', type: 'xtcp', serverName: 's', secretKey: 'k', bindPort: 9000, fallbackTimeoutMs: 2 ** 31 };
  assert.match(problemsOf(() => buildClientConfig({ visitors: [visitor] })).join('\n'), /visitors\[0\]\.fallbackTimeoutMs: .*out of range/);
});
