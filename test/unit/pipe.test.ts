import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { relay, type TrafficCounter } from '../../src/util/pipe.js';

/** A connected pair of real TCP sockets on 127.0.0.1: [outer end, inner end]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const outer = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const [inner] = (await accepted) as [Socket];
  await once(outer, 'connect');
  server.close();
  return [outer, inner];
}

/** visitor <-> [a | relay | b] <-> service */
async function relayed(opts: { halfCloseIdleMs?: number } = {}) {
  const [visitor, a] = await socketPair();
  const [b, service] = await socketPair();
  const counter: TrafficCounter = { bytesIn: 0, bytesOut: 0 };
  const done = relay(a, b, { counter, ...opts });
  return { visitor, service, a, b, counter, done };
}

function collect(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return once(s, 'end').then(() => Buffer.concat(chunks));
}

test('half-close is forwarded and the other direction keeps flowing', async () => {
  const { visitor, service, counter, done } = await relayed();
  const serviceGot = collect(service);
  visitor.end('request');
  assert.equal((await serviceGot).toString(), 'request');
  // The visitor finished sending; the response still reaches it.
  const visitorGot = collect(visitor);
  service.end('response after half-close');
  assert.equal((await visitorGot).toString(), 'response after half-close');
  await done;
  assert.deepEqual(counter, { bytesIn: 7, bytesOut: 25 });
});

test('a hang-up on one side destroys the other', async () => {
  const { visitor, service, done } = await relayed();
  service.on('error', () => {});
  service.resume();
  const serviceEnded = once(service, 'end');
  visitor.resetAndDestroy();
  await done;
  await serviceEnded;
  service.destroy();
});

test('a half-closed pair that stays silent is torn down', async () => {
  const { visitor, service, a, b, done } = await relayed({ halfCloseIdleMs: 50 });
  service.resume();
  visitor.resume();
  visitor.end();
  await done;
  assert.ok(a.destroyed && b.destroyed);
  service.destroy();
});
