import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewExchange } from '../../src/inspect/exchange.js';
import { ExchangeStore } from '../../src/inspect/exchange-store.js';
import { parseIni } from '../../src/config/ini.js';
import { mapClientIni } from '../../src/config/ini-map.js';
import { buildClientConfig, ConfigError } from '../../src/config/load.js';

function exchange(n: number): NewExchange {
  const bytes = Buffer.from([n & 0xff, 0x00, 0xff, 0x80]);
  return {
    proxy: 'web',
    visitor: '127.0.0.1:1',
    startedAt: 1_700_000_000_000 + n,
    durationMs: 1.5,
    request: { method: 'POST', target: `/n/${n}`, version: 'HTTP/1.1', headers: [['Host', 'a']], body: { bytes, size: 4, truncated: false } },
    response: { version: 'HTTP/1.1', status: 200, reason: 'OK', headers: [], body: { bytes: Buffer.alloc(0), size: 10, truncated: true } },
  };
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('the ring keeps the newest exchanges with increasing ids', async () => {
  const store = new ExchangeStore({ maxExchanges: 3 });
  await store.open();
  for (let i = 1; i <= 5; i++) store.add(exchange(i));
  assert.deepEqual(
    store.all().map((e) => e.id),
    [3, 4, 5],
  );
  assert.equal(store.get(2), undefined);
  assert.equal(store.get(4)!.request.target, '/n/4');
  store.clear();
  assert.deepEqual(store.all(), []);
  assert.equal(store.add(exchange(6)).id, 6, 'ids are not reused after a clear');
});

test('a store file survives a restart, stays bounded, and skips lines it cannot read', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-inspect-')), 'exchanges.jsonl');
  const first = new ExchangeStore({ maxExchanges: 4, file });
  await first.open();
  for (let i = 1; i <= 11; i++) first.add(exchange(i));
  await first.close();
  assert.ok(lines(file).length <= 8, `the file is compacted at twice the ring (${lines(file).length} lines)`);
  appendFileSync(file, '{"not":"an exchange"}\n{broken json\n');

  const second = new ExchangeStore({ maxExchanges: 4, file });
  await second.open();
  assert.deepEqual(
    second.all().map((e) => e.id),
    [8, 9, 10, 11],
  );
  const e = second.get(9)!;
  assert.deepEqual([...e.request.body.bytes], [9, 0x00, 0xff, 0x80], 'binary bodies come back byte-exact');
  assert.equal(e.response!.body.truncated, true);
  assert.deepEqual(e.request.headers, [['Host', 'a']]);
  assert.equal(second.add(exchange(12)).id, 12);
  second.clear();
  await second.close();
  assert.deepEqual(lines(file), ['{"nextId":13}'], 'clear empties the file but for the id high-water mark');

  const third = new ExchangeStore({ maxExchanges: 4, file });
  await third.open();
  assert.deepEqual(third.all(), []);
  assert.equal(third.add(exchange(13)).id, 13, 'ids stay unique across a clear and a restart');
  await third.close();
});

test('a store that cannot write reports it and keeps recording in memory; a bad path fails at open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-inspect-'));
  const store = new ExchangeStore({ maxExchanges: 2, file: join(dir, 'x.jsonl') });
  await store.open();
  const errors: Error[] = [];
  store.on('storeError', (err: Error) => errors.push(err));
  rmSync(dir, { recursive: true, force: true });
  for (let i = 1; i <= 8; i++) assert.doesNotThrow(() => store.add(exchange(i)));
  assert.deepEqual(
    store.all().map((e) => e.id),
    [7, 8],
  );
  assert.ok(errors.length >= 1 && errors.length <= 4, `reported, not once per exchange (${errors.length})`);
  await store.close();

  const bad = new ExchangeStore({ maxExchanges: 2, file: join(dir, 'missing', 'x.jsonl') });
  await assert.rejects(bad.open(), /inspect\.store: cannot write .*missing/);
});

test('stored lines that are not whole exchanges are skipped, not served', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-inspect-')), 'x.jsonl');
  const good = new ExchangeStore({ maxExchanges: 4, file });
  await good.open();
  good.add(exchange(1));
  await good.close();
  const line = JSON.parse(lines(file)[1]!) as Record<string, unknown>;
  appendFileSync(file, JSON.stringify({ ...line, id: 2, startedAt: 'yesterday' }) + '\n');
  const reopened = new ExchangeStore({ maxExchanges: 4, file });
  await reopened.open();
  assert.deepEqual(
    reopened.all().map((e) => e.id),
    [1],
  );
  await reopened.close();
});

test('the stored bodies are bounded in bytes too: the oldest exchanges go first', async () => {
  const store = new ExchangeStore({ maxExchanges: 100, maxBodyBytes: 10 });
  await store.open();
  for (let i = 1; i <= 5; i++) store.add(exchange(i)); // 4 body bytes each
  assert.deepEqual(
    store.all().map((e) => e.id),
    [4, 5],
  );
});

test('the store file is bounded in bytes: past maxStoreBytes it is compacted to the newest that fit in half', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-inspect-'));
  const file = join(dir, 'x.jsonl');
  const lineBytes = Buffer.byteLength(JSON.stringify({ id: 1 })) + 600; // generous: each exchange's line is a few hundred bytes
  const maxStoreBytes = 8 * lineBytes;
  const store = new ExchangeStore({ maxExchanges: 10_000, maxStoreBytes, file });
  await store.open();
  for (let i = 1; i <= 60; i++) {
    store.add(exchange(i));
    await new Promise((r) => setImmediate(r));
    assert.ok(statSync(file).size <= maxStoreBytes, `after ${i}: ${statSync(file).size} > ${maxStoreBytes}`);
  }
  await store.close();
  assert.ok(statSync(file).size <= maxStoreBytes);
  assert.equal(store.all().length, 60, 'the ring in memory is not cut by the file bound');

  const again = new ExchangeStore({ maxExchanges: 10_000, maxStoreBytes, file });
  await again.open();
  const ids = again.all().map((e) => e.id);
  assert.ok(ids.length >= 2 && ids.length < 60, `some but not all survive (${ids.length})`);
  assert.equal(ids.at(-1), 60, 'the newest survives');
  assert.deepEqual(
    ids,
    ids.map((_, k) => 60 - ids.length + 1 + k),
    'a contiguous newest run',
  );
  await again.close();
});

test('an exchange whose line alone exceeds the budget stays in memory but not in the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-inspect-')), 'x.jsonl');
  const store = new ExchangeStore({ maxExchanges: 10, maxStoreBytes: 2048, file });
  await store.open();
  store.add(exchange(1));
  const big = exchange(2);
  big.request.body = { bytes: Buffer.alloc(4096, 1), size: 4096, truncated: false };
  store.add(big);
  store.add(exchange(3));
  await store.close();
  assert.ok(statSync(file).size <= 2048);
  assert.deepEqual(
    store.all().map((e) => e.id),
    [1, 2, 3],
  );
  const again = new ExchangeStore({ maxExchanges: 10, maxStoreBytes: 2048, file });
  await again.open();
  assert.deepEqual(
    again.all().map((e) => e.id),
    [1, 3],
  );
  await again.close();
});

test('a file larger than the budget (written by an older version) is read from its tail only', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-inspect-')), 'x.jsonl');
  const writer = new ExchangeStore({ maxExchanges: 1000, file });
  await writer.open();
  for (let i = 1; i <= 40; i++) writer.add(exchange(i));
  await writer.close();
  const budget = Math.floor(statSync(file).size / 4);
  const reader = new ExchangeStore({ maxExchanges: 1000, maxStoreBytes: budget, file });
  await reader.open();
  const ids = reader.all().map((e) => e.id);
  assert.ok(ids.length > 0 && ids.length <= 12, `only the tail is read (${ids.length})`);
  assert.equal(ids.at(-1), 40);
  assert.equal(reader.add(exchange(41)).id, 41, 'ids continue after the newest read');
  await reader.close();
});

test('the rewrite follows no symlink: neither a planted temp name nor the store path itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-inspect-'));
  const file = join(dir, 'x.jsonl');
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'keep me\n');
  symlinkSync(victim, `${file}.tmp`);
  symlinkSync(victim, file);
  const store = new ExchangeStore({ maxExchanges: 2, file });
  await store.open();
  for (let i = 1; i <= 6; i++) store.add(exchange(i));
  await store.close();
  assert.equal(readFileSync(victim, 'utf8'), 'keep me\n', "the symlinks' target is untouched");
  assert.ok(lstatSync(file).isFile(), 'the store path is now our own regular file');
  assert.equal(lstatSync(file).mode & 0o777, 0o600);
  assert.ok(lstatSync(`${file}.tmp`).isSymbolicLink(), 'the planted name is left alone');
  assert.deepEqual(readdirSync(dir).sort(), ['victim', 'x.jsonl', 'x.jsonl.tmp'], 'no temp file left behind');
});

test('inspect.maxStoreBytes: defaults to 64 MiB, reads from TOML and INI, a bad value names the key', () => {
  assert.equal(buildClientConfig({ serverAddr: 'x' }).inspect.maxStoreBytes, 64 * 1024 * 1024);
  assert.equal(buildClientConfig({ inspect: { maxStoreBytes: 1 << 20 } }).inspect.maxStoreBytes, 1 << 20);
  const mapped = mapClientIni({ file: parseIni('[common]\ninspect_max_store_bytes = 2097152\n'), label: '' });
  assert.deepEqual(mapped.problems, []);
  assert.equal(buildClientConfig(mapped.raw, 'x.ini').inspect.maxStoreBytes, 2 * 1024 * 1024);
  assert.throws(
    () => buildClientConfig({ inspect: { maxStoreBytes: 10 } }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('inspect.maxStoreBytes')),
  );
});
