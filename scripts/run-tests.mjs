// Runs the whole suite with Node's own test runner. Node 20's `--test` does not
// expand globs or pick up .ts files by itself, so the files are listed here.
// Every test is bounded (2 min) so a hang fails instead of stalling CI.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.length > 2 ? process.argv.slice(2) : ['test/unit', 'test/integration', 'test/e2e'];
const files = [];
function walk(p) {
  if (statSync(p).isFile()) {
    if (p.endsWith('.test.ts')) files.push(p);
    return;
  }
  for (const name of readdirSync(p).sort()) walk(join(p, name));
}
for (const root of roots) walk(root);
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
