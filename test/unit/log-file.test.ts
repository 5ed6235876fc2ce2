import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileSink } from '../../src/util/log-file.js';
import { createLogger } from '../../src/util/logger.js';

const fileLines = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);

test('log.to a file: one line per event, rotated daily, older than maxDays deleted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-log-'));
  const file = join(dir, 'frps.log');
  let now = new Date(2026, 10, 1, 12, 0, 0);
  const sink = createFileSink(file, 1, { now: () => now });
  const log = createLogger({ level: 'info', format: 'json', write: sink });

  log.info('day one');
  await sink.flush();
  now = new Date(2026, 10, 2, 9, 0, 0);
  log.info('day two', { proxy: 'ssh' });
  await sink.flush();
  assert.deepEqual(readdirSync(dir).sort(), ['frps.log', 'frps.log.20261101']);
  assert.match(readFileSync(join(dir, 'frps.log.20261101'), 'utf8'), /"msg":"day one"/);

  now = new Date(2026, 10, 3, 9, 0, 0);
  log.warn('day three');
  await sink.close();
  // maxDays = 1: the day-one file is gone, yesterday's stays.
  assert.deepEqual(readdirSync(dir).sort(), ['frps.log', 'frps.log.20261102']);
  const lines = fileLines(file);
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).level, 'warn');
});

test("the file sink does not write on the caller's turn; lines reach the disk in order", async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-log-')), 'a.log');
  const sink = createFileSink(file, 0);
  for (let i = 0; i < 200; i++) sink(`line ${i}`);
  assert.equal(existsSync(file) ? readFileSync(file, 'utf8') : '', '', 'nothing written on this turn');
  await sink.close();
  assert.deepEqual(
    fileLines(file),
    Array.from({ length: 200 }, (_, i) => `line ${i}`),
  );
  assert.equal(sink.dropped, 0);
});

test('a full queue drops lines, counts them, and reports the count in the file once there is room', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-log-')), 'a.log');
  const sink = createFileSink(file, 0, { maxQueueBytes: 1000, format: 'json' });
  const total = 500;
  // One turn of the event loop: the disk gets no chance to drain, so the queue fills.
  for (let i = 0; i < total; i++) sink(`{"n":${i}}`);
  assert.ok(sink.dropped > 0 && sink.dropped < total, `some dropped (${sink.dropped})`);
  const dropped = sink.dropped;
  await sink.flush();
  sink('{"n":"after"}');
  await sink.close();
  const lines = fileLines(file).map((l) => JSON.parse(l) as { n?: number | string; msg?: string; count?: number });
  const kept = lines.filter((l) => typeof l.n === 'number').map((l) => l.n);
  assert.deepEqual(
    kept,
    Array.from({ length: total - dropped }, (_, i) => i),
    'the oldest are kept, in order',
  );
  const notice = lines.find((l) => l.msg !== undefined);
  assert.ok(notice, 'a notice line');
  assert.match(notice.msg!, /log lines dropped/);
  assert.equal(notice.count, dropped);
  assert.equal(lines.at(-1)!.n, 'after');
});

test('lines still queued when the process exits are written before it goes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-log-'));
  const file = join(dir, 'exit.log');
  const script = join(dir, 'exit.ts');
  const sinkUrl = pathToFileURL(resolve('src/util/log-file.ts')).href;
  writeFileSync(
    script,
    `import { createFileSink } from ${JSON.stringify(sinkUrl)};\n` +
      `const sink = createFileSink(${JSON.stringify(file)}, 0);\n` +
      `for (let i = 0; i < 1000; i++) sink('exit line ' + i);\n` +
      `process.exit(0);\n`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    fileLines(file),
    Array.from({ length: 1000 }, (_, i) => `exit line ${i}`),
  );
});
