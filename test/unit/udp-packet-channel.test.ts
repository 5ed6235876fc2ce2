import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { MessageDecoder } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { UDP_STREAM_MAX_BODY, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import { UdpPacketChannel } from '../../src/proxy/shared/udp-packet-channel.js';
import { isBurrowError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/tunnel.js';

/** Two ends of a real TCP connection on loopback. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const a = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [b] = (await accepted) as [Socket];
  await once(a, 'connect');
  server.close();
  return [a, b];
}

test('udp payload stream: Pings at the heartbeat interval; datagrams of one loop turn leave in one write', async () => {
  const [a, b] = await socketPair();
  const seen: Message[] = [];
  const decoder = new MessageDecoder({ maxBodyLength: UDP_STREAM_MAX_BODY });
  let reads = 0;
  b.on('data', (chunk: Buffer) => {
    reads++;
    decoder.push(chunk);
    let m: Message | undefined;
    while ((m = decoder.next())) seen.push(m);
  });
  const channel = new UdpPacketChannel(a, { heartbeatMs: 30, onPacket: () => {}, onClose: () => {} });
  try {
    await waitFor(() => seen.filter((m) => m.type === 'Ping').length >= 2, 'two heartbeats');
    reads = 0;
    const before = seen.length;
    const to = { ip: '127.0.0.1', port: 5000, zone: '' };
    for (let i = 0; i < 50; i++) channel.send(Buffer.from(`d${i}`), to);
    await waitFor(() => seen.length >= before + 50, 'the 50 datagrams');
    assert.deepEqual(
      seen.slice(before).filter((m) => m.type === 'UDPPacket').map((m) => (m.type === 'UDPPacket' ? Buffer.from(m.body.c ?? '', 'base64').toString() : '')),
      Array.from({ length: 50 }, (_, i) => `d${i}`),
    );
    assert.ok(reads <= 2, `the burst arrived in ${reads} reads`);
  } finally {
    channel.close();
    b.destroy();
  }
});

test('udp payload stream: silence beyond readIdleMs closes it with BURROW_TIMEOUT; a Ping keeps it open', async () => {
  const [a, b] = await socketPair();
  let closedWith: Error | undefined;
  let closed = false;
  const channel = new UdpPacketChannel(a, { readIdleMs: 150, onPacket: () => {}, onClose: (err) => ((closed = true), (closedWith = err)) });
  const ping = Buffer.from('6800000000000000027b7d', 'hex');
  const keepAlive = setInterval(() => b.write(ping), 40);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(closed, false, 'pings kept the stream alive');
  clearInterval(keepAlive);
  await waitFor(() => closed, 'the idle close');
  assert.ok(isBurrowError(closedWith, 'BURROW_TIMEOUT'), String(closedWith));
  assert.equal(channel.send(Buffer.from('x'), { ip: '127.0.0.1', port: 1, zone: '' }), false, 'a closed stream sends nothing');
  b.destroy();
});

test('udp payload stream: a packet from the peer reaches onPacket with its address', async () => {
  const [a, b] = await socketPair();
  const got: string[] = [];
  const channel = new UdpPacketChannel(a, { onPacket: (p, addr) => got.push(`${addr.ip}:${addr.port} ${p.toString()}`), onClose: () => {} });
  b.write(encodeUdpPacket(Buffer.from('hi'), { ip: '198.51.100.2', port: 53, zone: '' }));
  await waitFor(() => got.length === 1, 'the packet');
  assert.deepEqual(got, ['198.51.100.2:53 hi']);
  channel.close();
  b.destroy();
});
