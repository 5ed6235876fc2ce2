import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSink } from '../../src/util/log-file.js';
import { createLogger } from '../../src/util/logger.js';

test('log.to a file: one line per event, rotated daily, older than maxDays deleted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-log-'));
  const file = join(dir, 'frps.log');
  let now = new Date(2026, 10, 1, 12, 0, 0);
  const log = createLogger({ level: 'info', format: 'json', write: createFileSink(file, 1, () => now) });

  log.info('day one');
  now = new Date(2026, 10, 2, 9, 0, 0);
  log.info('day two', { proxy: 'ssh' });
  assert.deepEqual(readdirSync(dir).sort(), ['frps.log', 'frps.log.20261101']);
  assert.match(readFileSync(join(dir, 'frps.log.20261101'), 'utf8'), /"msg":"day one"/);

  now = new Date(2026, 10, 3, 9, 0, 0);
  log.warn('day three');
  // maxDays = 1: the day-one file is gone, yesterday's stays.
  assert.deepEqual(readdirSync(dir).sort(), ['frps.log', 'frps.log.20261102']);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).level, 'warn');
});
