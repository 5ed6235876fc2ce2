import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageDecoder, MAX_MESSAGE_BODY, encodeMessageWithin } from '../../src/protocol/codec.js';
import { UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket, udpAddressFrom, udpAddressKey } from '../../src/protocol/udp-packet.js';
import { isBurrowError } from '../../src/util/errors.js';
import { FlowTable } from '../../src/util/flow-table.js';
import { prng, randomPieces } from '../helpers/random.js';
import { patternBytes, waitFor } from '../helpers/tunnel.js';

const USER = { ip: '203.0.113.7', port: 40000, zone: '' };

test('UDPPacket frame is byte-exact with the reference example', () => {
  const frame = encodeUdpPacket(Buffer.from('hello'), USER);
  const body = '{"c":"aGVsbG8=","r":{"IP":"203.0.113.7","Port":40000,"Zone":""}}';
  assert.equal(frame[0], 0x75);
  assert.equal(frame.readBigInt64BE(1), BigInt(body.length));
  assert.equal(frame.subarray(9).toString(), body);
});

test('the direct encoder writes the generic encoder’s bytes', () => {
  for (const [payload, addr] of [
    [Buffer.from('x'), USER],
    [Buffer.alloc(0), USER],
    [patternBytes(1000, 3), { ip: '::1', port: 1, zone: '' }],
    [patternBytes(65535, 4), { ip: '2001:db8::7', port: 65535, zone: '' }],
  ] as const) {
    const body = { r: { IP: addr.ip, Port: addr.port, Zone: addr.zone }, ...(payload.length > 0 ? { c: payload.toString('base64') } : {}) };
    assert.ok(encodeUdpPacket(payload, addr).equals(encodeMessageWithin({ type: 'UDPPacket', body }, UDP_STREAM_MAX_BODY)));
  }
});

test('an empty datagram leaves `c` out, as the reference encoder does', () => {
  const frame = encodeUdpPacket(Buffer.alloc(0), USER);
  assert.equal(frame.subarray(9).toString(), '{"r":{"IP":"203.0.113.7","Port":40000,"Zone":""}}');
  const d = new MessageDecoder();
  d.push(frame);
  const msg = d.next();
  assert.equal(msg?.type, 'UDPPacket');
  if (msg?.type === 'UDPPacket') assert.equal(decodeUdpPacket(msg.body).payload.length, 0);
});

test('a 64 KiB datagram fits the udp stream limit but not the control limit; chaotic chunking decodes it', () => {
  const payload = Buffer.alloc(65535, 0xab);
  const frame = encodeUdpPacket(payload, { ip: 'fe80::1', port: 65535, zone: 'eth0-long-name' });
  const bodyLength = frame.length - 9;
  assert.ok(bodyLength > MAX_MESSAGE_BODY && bodyLength <= UDP_STREAM_MAX_BODY, `body ${bodyLength}`);
  const control = new MessageDecoder();
  control.push(frame);
  assert.throws(
    () => control.next(),
    (err: unknown) => isBurrowError(err, 'BURROW_FRAME_TOO_LARGE'),
  );
  const stream = new MessageDecoder({ maxBodyLength: UDP_STREAM_MAX_BODY });
  for (const piece of randomPieces(Buffer.concat([frame, frame]), prng(9), 7000)) stream.push(piece);
  for (let i = 0; i < 2; i++) {
    const msg = stream.next();
    assert.ok(msg?.type === 'UDPPacket');
    const { payload: got, addr } = decodeUdpPacket(msg.body);
    assert.ok(got.equals(payload));
    assert.deepEqual(addr, { ip: 'fe80::1', port: 65535, zone: 'eth0-long-name' });
  }
  assert.throws(
    () => encodeUdpPacket(Buffer.alloc(65536), USER),
    (err: unknown) => isBurrowError(err, 'BURROW_FRAME_TOO_LARGE'),
  );
});

test('forged packets are refused with BURROW_BAD_FRAME', () => {
  const bad = [
    { c: 'aGVsbG8', r: { IP: '1.2.3.4', Port: 1 } }, // no padding
    { c: 'aGV*bG8=', r: { IP: '1.2.3.4', Port: 1 } }, // not base64
    { c: 'aGVsbG8=' }, // no address
    { c: 'aGVsbG8=', r: { IP: 'example.com', Port: 53 } },
    { c: 'aGVsbG8=', r: { IP: '1.2.3.4', Port: 0 } },
    { c: 'aGVsbG8=', r: { IP: '1.2.3.4', Port: 70000 } },
  ];
  for (const body of bad) {
    assert.throws(
      () => decodeUdpPacket(body),
      (err: unknown) => isBurrowError(err, 'BURROW_BAD_FRAME'),
      JSON.stringify(body),
    );
  }
});

test('received addresses: IPv4-mapped IPv6 is shown as IPv4, zones split off; keys are distinct per port', () => {
  assert.deepEqual(udpAddressFrom('::ffff:10.0.0.1', 5), { ip: '10.0.0.1', port: 5, zone: '' });
  assert.deepEqual(udpAddressFrom('fe80::1%lo', 5), { ip: 'fe80::1', port: 5, zone: 'lo' });
  assert.equal(udpAddressKey({ ip: '10.0.0.1', port: 5, zone: '' }), '10.0.0.1:5');
  assert.equal(udpAddressKey({ ip: '::1', port: 5, zone: '' }), '[::1]:5');
  assert.notEqual(udpAddressKey({ ip: '10.0.0.1', port: 5, zone: '' }), udpAddressKey({ ip: '10.0.0.1', port: 6, zone: '' }));
});

test('flow table: a full table evicts the least recently used; idle flows expire', async () => {
  const ended: string[] = [];
  let clock = 1000;
  const table = new FlowTable<number>({ idleMs: 1600, maxEntries: 3, now: () => clock, onEnd: (k, _v, why) => ended.push(`${k}:${why}`) });
  table.add('a', 1);
  table.add('b', 2);
  table.add('c', 3);
  clock += 200; // more than idle/16: a touch moves the entry to the back
  table.touch('a');
  table.add('d', 4);
  assert.deepEqual(ended, ['b:evicted']);
  assert.equal(table.size, 3);
  table.clear();
  assert.deepEqual(ended.slice(1).sort(), ['a:closed', 'c:closed', 'd:closed']);

  const idle = new FlowTable<number>({ idleMs: 40, maxEntries: 10, onEnd: (k, _v, why) => ended.push(`${k}:${why}`) });
  idle.add('x', 1);
  idle.add('y', 2);
  await waitFor(() => idle.size === 0, 'idle flows to expire', 2000);
  assert.deepEqual(ended.slice(4).sort(), ['x:idle', 'y:idle']);
});
