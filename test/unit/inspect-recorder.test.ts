import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureBudget, type NewExchange } from '../../src/inspect/exchange.js';
import { HttpConnectionRecorder } from '../../src/inspect/http-recorder.js';
import { prng, randomPieces } from '../helpers/random.js';

const META = { proxy: 'web', visitor: '203.0.113.9:5000' };

/** Feeds both directions in random pieces, interleaved as a real connection would be: each request before its response. */
function record(steps: Array<['req' | 'res', string | Buffer]>, opts: { maxBody?: number; seed?: number; close?: boolean } = {}): NewExchange[] {
  const out: NewExchange[] = [];
  const rec = new HttpConnectionRecorder(META, opts.maxBody ?? 1024 * 1024, (e) => out.push(e));
  const rand = prng(opts.seed ?? 7);
  for (const [side, data] of steps) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const piece of randomPieces(bytes, rand, 9)) side === 'req' ? rec.request(piece) : rec.response(piece);
  }
  if (opts.close !== false) rec.close();
  return out;
}

const text = (e: NewExchange, side: 'request' | 'response'): string => (side === 'request' ? e.request.body : e.response!.body).bytes.toString('latin1');

test('keep-alive exchanges are paired in order, chunked bodies decoded, heads kept as sent', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const got = record(
      [
        ['req', 'POST /hook?a=1 HTTP/1.1\r\nHost: dev.example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"event":"x"}'],
        ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
        ['req', 'PUT /up HTTP/1.1\r\nHost: dev.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n'],
        ['res', 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
        ['req', 'HEAD /h HTTP/1.1\r\nHost: dev.example.com\r\n\r\n'],
        ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n'],
      ],
      { seed },
    );
    assert.equal(got.length, 3, `seed ${seed}`);
    assert.deepEqual(
      got.map((e) => [e.request.method, e.request.target, e.response?.status]),
      [
        ['POST', '/hook?a=1', 200],
        ['PUT', '/up', 201],
        ['HEAD', '/h', 200],
      ],
    );
    assert.equal(text(got[0]!, 'request'), '{"event":"x"}');
    assert.deepEqual(got[0]!.request.headers[1], ['Content-Type', 'application/json']);
    assert.equal(text(got[0]!, 'response'), 'ok');
    assert.equal(text(got[1]!, 'request'), 'hello world');
    assert.equal(got[1]!.request.body.size, 11);
    assert.equal(text(got[1]!, 'response'), 'abc');
    assert.equal(got[2]!.response!.body.size, 0, 'a HEAD response has no body whatever its Content-Length');
    for (const e of got) {
      assert.equal(e.proxy, 'web');
      assert.equal(e.visitor, META.visitor);
      assert.equal(e.error, undefined);
      assert.ok(e.durationMs >= 0);
    }
  }
});

test('pipelined requests are matched to their responses in order', () => {
  const got = record([
    ['req', 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n2HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\n3'],
  ]);
  assert.deepEqual(
    got.map((e) => [e.request.target, e.response?.status, text(e, 'response')]),
    [
      ['/1', 200, '1'],
      ['/2', 404, '2'],
      ['/3', 500, '3'],
    ],
  );
});

test('bodies over the cap keep their first bytes, their full size and a truncated mark', () => {
  const big = Buffer.alloc(5000, 0x61);
  const got = record(
    [
      ['req', Buffer.concat([Buffer.from('POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n'), big])],
      ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'],
    ],
    { maxBody: 1000 },
  );
  assert.equal(got[0]!.request.body.bytes.length, 1000);
  assert.equal(got[0]!.request.body.size, 5000);
  assert.equal(got[0]!.request.body.truncated, true);
  assert.equal(got[0]!.response!.body.truncated, false);
});

test('100-continue is skipped and a 101 upgrade ends recording of that connection', () => {
  const got = record([
    ['req', 'POST /c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n'],
    ['res', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['req', 'hi'],
    ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['req', 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['res', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi'],
    ['req', '\x81\x82\x00\x00\x00\x00hi'],
  ]);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.response!.status, 200);
  assert.equal(text(got[0]!, 'request'), 'hi');
  assert.equal(got[1]!.response!.status, 101);
  assert.equal(got[1]!.upgraded, true);
});

test('a body until close is complete at close; a cut-short response is recorded with the reason', () => {
  const untilClose = record([
    ['req', 'GET /stream HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'HTTP/1.1 200 OK\r\n\r\nall of it'],
  ]);
  assert.equal(text(untilClose[0]!, 'response'), 'all of it');
  assert.equal(untilClose[0]!.error, undefined);

  const cut = record([
    ['req', 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'],
  ]);
  assert.equal(cut.length, 2);
  assert.equal(cut[0]!.response!.status, 200);
  assert.equal(text(cut[0]!, 'response'), 'abc');
  assert.match(cut[0]!.error!, /closed before the response ended/);
  assert.equal(cut[1]!.response, undefined);
  assert.match(cut[1]!.error!, /closed before the response ended/);
});

test('bytes that are not HTTP stop the recording of that connection only, with the reason', () => {
  const got = record([
    ['req', 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['req', 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['req', 'GET /ignored HTTP/1.1\r\nHost: a\r\n\r\n'],
  ]);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.error, undefined);
  assert.equal(got[1]!.request.target, '/next');
  assert.match(got[1]!.error!, /response stream not followed: malformed status line/);

  const noRequest = record([['req', '\x16\x03\x01\x00\x05hello']]);
  assert.deepEqual(noRequest, [], 'TLS bytes on an http proxy record nothing and throw nothing');
});

test('bodies being recorded share one byte budget across connections, given back when recorded', () => {
  const budget = new CaptureBudget(1500);
  const out: NewExchange[] = [];
  const a = new HttpConnectionRecorder(META, 1000, (e) => out.push(e), budget);
  const b = new HttpConnectionRecorder(META, 1000, (e) => out.push(e), budget);
  const upload = (n: number) => Buffer.concat([Buffer.from(`POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: ${n}\r\n\r\n`), Buffer.alloc(n, 0x62)]);
  a.request(upload(1000));
  b.request(upload(1000));
  assert.equal(budget.inUse, 1500, 'the second upload gets only what is left');
  a.response(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
  b.response(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
  assert.equal(budget.inUse, 0);
  assert.deepEqual(
    out.map((e) => [e.request.body.bytes.length, e.request.body.size, e.request.body.truncated]),
    [
      [1000, 1000, false],
      [500, 1000, true],
    ],
  );
});

test('an early answer to an upload is recorded once the body ends, with the whole body; the next request still records', () => {
  const got = record([
    ['req', 'POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345'],
    ['res', 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n'],
    ['req', '67890'],
    ['req', 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['res', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  ]);
  assert.deepEqual(
    got.map((e) => [e.request.target, e.response?.status, text(e, 'request'), e.request.body.truncated, e.error]),
    [
      ['/up', 413, '1234567890', false, undefined],
      ['/next', 200, '', false, undefined],
    ],
  );

  const cut = record([
    ['req', 'POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345'],
    ['res', 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n'],
  ]);
  assert.equal(cut.length, 1);
  assert.equal(cut[0]!.response!.status, 413);
  assert.equal(cut[0]!.request.body.truncated, true, 'a body that never ended cannot be replayed as if whole');
  assert.match(cut[0]!.error!, /before the request body ended/);
});

test('a sink that throws (a store that cannot write) never throws into the relay', () => {
  const rec = new HttpConnectionRecorder(META, 1024, () => {
    throw new Error('disk full');
  });
  assert.doesNotThrow(() => {
    rec.request(Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'));
    rec.response(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nnot http'));
    rec.close();
  });
});
