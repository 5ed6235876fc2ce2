/**
 * The long fuzz pass (`npm run fuzz`): every target for FUZZ_RUNS inputs
 * (default one million, socket-backed targets included), from a
 * random seed that is printed first so a failure can be replayed with
 * FUZZ_SEED. FUZZ_ONLY=<substring> picks targets by name.
 */
import { runTarget } from './harness.js';
import { allTargets } from './targets.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1_000_000;
const only = process.env.FUZZ_ONLY ?? '';
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(runs) || runs < 1) {
  console.error('FUZZ_SEED and FUZZ_RUNS must be integers (FUZZ_RUNS at least 1)');
  process.exit(2);
}
const chosen = allTargets.filter((t) => t.name.includes(only));
console.log(`fuzz: seed ${seed}, ${runs} runs per target, ${chosen.length} targets${only ? ` matching "${only}"` : ''}`);

let failed = 0;
for (const t of chosen) {
  const started = Date.now();
  try {
    const n = await runTarget(t, { seed, runs });
    console.log(`ok   ${t.name}: ${n} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${String(err instanceof Error ? err.message : err)}`);
  }
}
console.log(failed === 0 ? `fuzz: all ${chosen.length} targets passed (seed ${seed})` : `fuzz: ${failed} of ${chosen.length} targets failed (seed ${seed})`);
process.exit(failed === 0 ? 0 : 1);
