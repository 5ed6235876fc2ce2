// A longer hostile-traffic run against a real server process (the same
// scenario as test/integration/hostile-traffic.test.ts). Prints one JSON
// object; exits 1 when the server died, an echo failed, or it did not recover.
//   HOSTILE_DURATION_S (default 60), HOSTILE_CONCURRENCY (default 128),
//   HOSTILE_SEED (default: random, printed), HOSTILE_RSS_SLACK_MIB (default 64),
//   HOSTILE_RECOVER_S (default 60)
import { runHostileScenario } from '../test/helpers/hostile-run.js';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const opts = {
  durationMs: envInt('HOSTILE_DURATION_S', 60, 1, 24 * 3600) * 1000,
  concurrency: envInt('HOSTILE_CONCURRENCY', 128, 1, 4096),
  seed: envInt('HOSTILE_SEED', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31 - 1),
  rssSlackBytes: envInt('HOSTILE_RSS_SLACK_MIB', 64, 1, 65536) * 1024 * 1024,
  recoverMs: envInt('HOSTILE_RECOVER_S', 60, 1, 3600) * 1000,
};
const result = await runHostileScenario(opts);
const { serverLog, ...rest } = result;
console.log(JSON.stringify({ options: opts, ...rest }, null, 2));
const failed = result.server.exitedDuring !== null || result.echoes.failed > 0 || !result.server.recovered;
if (failed) {
  console.error(serverLog);
  process.exit(1);
}
