/** Properties of the inspector's recorder, which follows both directions of a relayed HTTP connection. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CaptureBudget, type NewExchange } from '../../src/inspect/exchange.js';
import { HttpConnectionRecorder } from '../../src/inspect/http-recorder.js';
import { bytes, mutated, target, type FuzzTarget } from './harness.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

const request = fc
  .record({ method: fc.constantFrom('GET', 'POST', 'HEAD', 'CONNECT'), body: fc.stringMatching(/^[a-z]{0,30}$/), chunked: fc.boolean() })
  .map((r) =>
    latin1(
      r.method === 'POST'
        ? r.chunked
          ? `POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${r.body.length.toString(16)}\r\n${r.body}\r\n${r.body ? '0\r\n\r\n' : ''}`
          : `POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: ${r.body.length}\r\n\r\n${r.body}`
        : `${r.method} ${r.method === 'CONNECT' ? 'a:1' : '/'} HTTP/1.1\r\nHost: a\r\n\r\n`,
    ),
  );

const response = fc
  .record({
    status: fc.constantFrom(200, 204, 304, 101, 100, 500),
    body: fc.stringMatching(/^[a-z]{0,30}$/),
    framing: fc.constantFrom('length', 'chunked', 'close'),
  })
  .map((r) => {
    const framing = r.framing === 'length' ? `Content-Length: ${r.body.length}\r\n` : r.framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : '';
    const body = r.framing === 'chunked' ? `${r.body.length.toString(16)}\r\n${r.body}\r\n${r.body ? '0\r\n\r\n' : ''}` : r.body;
    return latin1(`HTTP/1.1 ${r.status} X\r\n${framing}\r\n${body}`);
  });

const step = fc.oneof(
  fc.tuple(fc.constant('request' as const), fc.oneof({ weight: 4, arbitrary: request }, mutated(request), bytes(60))),
  fc.tuple(fc.constant('response' as const), fc.oneof({ weight: 4, arbitrary: response }, mutated(response), bytes(60))),
  fc.tuple(
    fc.constantFrom('request' as const, 'response' as const),
    fc.nat({ max: 40 }).map((n) => Buffer.alloc(n, 0x61)),
  ),
);

export const inspectTargets: FuzzTarget[] = [
  target('inspect/recorder: any two-way byte stream is followed or given up without a throw; bodies stay bounded and the budget is returned', () =>
    fc.property(fc.array(step, { maxLength: 12 }), fc.integer({ min: 0, max: 16 }), (steps, maxBodyBytes) => {
      const budget = new CaptureBudget(64);
      const exchanges: NewExchange[] = [];
      const recorder = new HttpConnectionRecorder({ proxy: 'p', visitor: 'v' }, maxBodyBytes, (e) => void exchanges.push(e), budget);
      for (const [side, chunk] of steps) {
        if (side === 'request') recorder.request(chunk);
        else recorder.response(chunk);
        assert.ok(budget.inUse <= budget.max);
      }
      recorder.close();
      for (const e of exchanges) {
        assert.ok(e.request.body.bytes.length <= maxBodyBytes);
        assert.ok((e.response?.body.bytes.length ?? 0) <= maxBodyBytes);
      }
      assert.equal(budget.inUse, 0, 'every body still being recorded gave its bytes back at close');
    }),
  ),
];
