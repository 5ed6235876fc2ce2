import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { matchSharedPort } from '../../src/transport/port-share.js';

const BOTH = { http: () => {}, https: () => {} };

/** Feeds `bytes` one byte per tick: the decision must not depend on how they arrive. */
async function decide(bytes: Buffer, share: { http?: unknown; https?: unknown } = BOTH): Promise<{ kind: string | undefined; left: Buffer }> {
  const stream = new PassThrough();
  const decided = matchSharedPort(stream, share, 5_000, 'test');
  for (const b of bytes) {
    stream.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  const kind = await decided;
  stream.end();
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return { kind, left: Buffer.concat(chunks) };
}

test("frp's order on a shared bind port: websocket path, then HTTP methods and TLS, then frp's own bytes", async () => {
  const cases: Array<[string, Buffer, string | undefined]> = [
    ['frp websocket upgrade', Buffer.from('GET /~!frp HTTP/1.1\r\n'), undefined],
    ['HTTP GET', Buffer.from('GET /index HTTP/1.1\r\n'), 'http'],
    ['HTTP POST', Buffer.from('POST /x HTTP/1.1\r\n'), 'http'],
    ['HTTP PATCH', Buffer.from('PATCH /x HTTP/1.1\r\n'), 'http'],
    ['HTTP CONNECT', Buffer.from('CONNECT a:1 HTTP/1.1\r\n'), 'http'],
    ['a G that is no method', Buffer.from('GXT something long'), undefined],
    ['TLS ClientHello', Buffer.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0, 0]), 'https'],
    ["frp's TLS marker", Buffer.from([0x17, 0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]), undefined],
    ['frp Login', Buffer.from('o\0\0\0\0\0\0\0\x02{}'), undefined],
    ['yamux header', Buffer.alloc(12), undefined],
  ];
  for (const [what, bytes, want] of cases) {
    const { kind, left } = await decide(bytes);
    assert.equal(kind, want, what);
    assert.ok(left.equals(bytes), `${what}: every byte is left for the next reader`);
  }
});

test('only the vhosts that share the port are matched', async () => {
  assert.equal((await decide(Buffer.from([0x16, 3, 1, 0, 5, 1]), { http: () => {} })).kind, undefined, 'TLS is frp when https is not shared');
  assert.equal((await decide(Buffer.from('GET / HTTP/1.1\r\n'), { https: () => {} })).kind, undefined);
});
