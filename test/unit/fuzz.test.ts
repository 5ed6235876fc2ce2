/**
 * The short, repeatable pass over every fuzz target (test/fuzz): a fixed seed
 * and 1000 inputs per target (most parsers have two or three targets; fewer
 * inputs where each one costs a socket round trip), so `npm test` stays quick
 * and a failure here replays the same way everywhere. `npm run fuzz` is the
 * long pass with a random seed.
 */
import { test } from 'node:test';
import { runTarget } from '../fuzz/harness.js';
import { allTargets } from '../fuzz/targets.js';

const SEED = 20261206;
const RUNS = 1000;

for (const t of allTargets) {
  test(`fuzz ${t.name}`, async () => {
    await runTarget(t, { seed: SEED, runs: RUNS, byCost: true });
  });
}
