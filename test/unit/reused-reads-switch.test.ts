import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reusedReadsAvailable } from '../../src/relay/reused-reads.js';

const child = fileURLToPath(new URL('../fixtures/reused-reads-child.ts', import.meta.url));

interface ChildReport {
  available: boolean;
  enabled: boolean;
  readsReused: boolean;
  intact: boolean;
  logged: string[];
}

/** Runs the relay child with BURROW_REUSED_READS set to `value` (undefined: not set at all). */
function runChild(value: string | undefined): Promise<ChildReport> {
  const env = { ...process.env };
  delete env.BURROW_REUSED_READS;
  if (value !== undefined) env.BURROW_REUSED_READS = value;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', child], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child with BURROW_REUSED_READS=${String(value)} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport);
    });
  });
}

test('BURROW_REUSED_READS=off, 0 or false: plain reads everywhere, the relay still byte-exact, said once at debug level', async () => {
  const reports = await Promise.all(['off', '0', 'FALSE'].map(runChild));
  for (const r of reports) {
    assert.equal(r.available, reusedReadsAvailable, 'the probe still tells what this Node offers');
    assert.equal(r.enabled, false);
    assert.equal(r.readsReused, false, 'relayed sockets read the way Node does by default');
    assert.equal(r.intact, true);
    assert.equal(r.logged.length, 1, r.logged.join('\n'));
    assert.match(r.logged[0]!, /DEBUG .*reused reads are off \(BURROW_REUSED_READS\)/);
  }
});

test('without the switch (or with any other value) relayed sockets read into reused buffers where Node offers it', async () => {
  const reports = await Promise.all([undefined, 'on'].map(runChild));
  for (const r of reports) {
    assert.equal(r.enabled, r.available);
    assert.equal(r.readsReused, r.available);
    assert.equal(r.intact, true);
    assert.equal(r.logged.length, r.available ? 0 : 1, r.logged.join('\n'));
  }
});
