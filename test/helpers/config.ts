import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/load.js';

/** Runs a config build that must fail and returns its list of problems. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'BURROW_CONFIG_INVALID');
    return err.problems;
  }
  return assert.fail('expected the configuration to be refused');
}
