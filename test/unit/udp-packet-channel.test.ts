import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageDecoder } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { UDP_STREAM_MAX_BODY, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import { UdpPacketChannel } from '../../src/proxy/shared/udp-packet-channel.js';
import { isBurrowError } from '../../src/util/errors.js';
import { fakeTimers } from '../helpers/fake-timers.js';
import { socketPair } from '../helpers/streams.js';
import { waitFor } from '../helpers/tunnel.js';

const WHOLE = { packetSize: 65535, whole: true };

test('udp payload stream: Pings at the heartbeat interval; datagrams of one loop turn leave in one write', async (t) => {
  const [a, b] = await socketPair(t);
  const seen: Message[] = [];
  const decoder = new MessageDecoder({ maxBodyLength: UDP_STREAM_MAX_BODY });
  let reads = 0;
  b.on('data', (chunk: Buffer) => {
    reads++;
    decoder.push(chunk);
    let m: Message | undefined;
    while ((m = decoder.next())) seen.push(m);
  });
  const clock = fakeTimers();
  const channel = new UdpPacketChannel(a, { limits: WHOLE, heartbeatMs: 30_000, timers: clock, onPacket: () => {}, onClose: () => {} });
  t.after(() => channel.close());
  clock.tick(29_999);
  clock.tick(1);
  clock.tick(30_000);
  await waitFor(() => seen.length >= 2, 'two heartbeats');
  assert.deepEqual(
    seen.map((m) => m.type),
    ['Ping', 'Ping'],
    'one Ping per interval, nothing else',
  );
  reads = 0;
  const to = { ip: '127.0.0.1', port: 5000, zone: '' };
  for (let i = 0; i < 50; i++) channel.send(Buffer.from(`d${i}`), to);
  await waitFor(() => seen.length >= 52, 'the 50 datagrams');
  assert.deepEqual(
    seen.slice(2).map((m) => (m.type === 'UDPPacket' ? Buffer.from(m.body.c ?? '', 'base64').toString() : m.type)),
    Array.from({ length: 50 }, (_, i) => `d${i}`),
  );
  assert.ok(reads <= 2, `the burst arrived in ${reads} reads`);
});

test('udp payload stream: silence beyond readIdleMs closes it with BURROW_TIMEOUT; a Ping keeps it open', async (t) => {
  const [a, b] = await socketPair(t);
  const closedWith: (Error | undefined)[] = [];
  const clock = fakeTimers();
  const channel = new UdpPacketChannel(a, { limits: WHOLE, readIdleMs: 60_000, timers: clock, onPacket: () => {}, onClose: (err) => closedWith.push(err) });
  t.after(() => channel.close());
  // The channel's own 'data' listener runs before this one: once a Ping is seen here, the idle timer was refreshed.
  let received = 0;
  a.on('data', (c: Buffer) => (received += c.length));
  const ping = Buffer.from('6800000000000000027b7d', 'hex');
  for (let i = 1; i <= 5; i++) {
    clock.tick(40_000);
    b.write(ping);
    await waitFor(() => received === i * ping.length, `ping ${i}`);
  }
  assert.deepEqual(closedWith, [], 'five Pings 40 s apart kept the stream open for 200 s');
  clock.tick(59_999);
  assert.deepEqual(closedWith, [], 'not before readIdleMs of silence');
  clock.tick(1);
  assert.equal(closedWith.length, 1, 'closed once, at readIdleMs of silence');
  assert.ok(isBurrowError(closedWith[0], 'BURROW_TIMEOUT'), String(closedWith[0]));
  assert.equal(channel.send(Buffer.from('x'), { ip: '127.0.0.1', port: 1, zone: '' }), false, 'a closed stream sends nothing');
  assert.equal(clock.pending(), 0, 'no timer left behind');
});

test('udp payload stream: a packet from the peer reaches onPacket with its address', async (t) => {
  const [a, b] = await socketPair(t);
  const got: string[] = [];
  const channel = new UdpPacketChannel(a, { limits: WHOLE, onPacket: (p, addr) => got.push(`${addr.ip}:${addr.port} ${p.toString()}`), onClose: () => {} });
  b.write(encodeUdpPacket(Buffer.from('hi'), { ip: '198.51.100.2', port: 53, zone: '' }));
  await waitFor(() => got.length === 1, 'the packet');
  assert.deepEqual(got, ['198.51.100.2:53 hi']);
  channel.close();
});
