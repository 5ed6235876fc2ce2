import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewExchange } from '../../src/inspect/exchange.js';
import { ExchangeStore } from '../../src/inspect/exchange-store.js';

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
  assert.deepEqual(store.all().map((e) => e.id), [3, 4, 5]);
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
  assert.deepEqual(second.all().map((e) => e.id), [8, 9, 10, 11]);
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
  assert.deepEqual(store.all().map((e) => e.id), [7, 8]);
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
  assert.deepEqual(reopened.all().map((e) => e.id), [1]);
  await reopened.close();
});

test('the stored bodies are bounded in bytes too: the oldest exchanges go first', async () => {
  const store = new ExchangeStore({ maxExchanges: 100, maxBodyBytes: 10 });
  await store.open();
  for (let i = 1; i <= 5; i++) store.add(exchange(i)); // 4 body bytes each
  assert.deepEqual(store.all().map((e) => e.id), [4, 5]);
});
