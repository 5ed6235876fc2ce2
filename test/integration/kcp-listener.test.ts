/**
 * The KCP listener on a real UDP socket facing garbage: datagrams that are not
 * kcp-go's framing are counted and dropped without a session, a session
 * starts only from a well-formed first packet, the session count is capped,
 * and a session's own garbage is counted on it while good data still flows.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { FEC_DATA_OVERHEAD } from '../../src/transport/kcp/fec.js';
import { KCP_OVERHEAD, KcpCmd } from '../../src/transport/kcp/kcp.js';
import { listenKcp, type KcpSessionInfo } from '../../src/transport/kcp/kcp-listener.js';
import { waitFor } from '../helpers/tunnel.js';

/** A FEC data packet holding one KCP push segment of `payload` (sn 0). */
function firstPacket(conv: number, payload: Buffer): Buffer {
  const d = Buffer.alloc(FEC_DATA_OVERHEAD + KCP_OVERHEAD + payload.length);
  d.writeUInt16LE(0xf1, 4);
  d.writeUInt16LE(d.length - 6, 6);
  d.writeUInt32LE(conv, 8);
  d[12] = KcpCmd.Push;
  d.writeUInt16LE(1024, 14);
  d.writeUInt32LE(payload.length, 8 + 20);
  payload.copy(d, FEC_DATA_OVERHEAD + KCP_OVERHEAD);
  return d;
}

async function peer(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test('garbage is dropped and counted; a well-formed first packet opens a session; sessions are capped', async () => {
  const sessions: KcpSessionInfo[] = [];
  const listener = await listenKcp({ host: '127.0.0.1', port: 0, maxSessions: 2 }, (info) => {
    info.session.on('error', () => {});
    sessions.push(info);
  });
  const peers = await Promise.all([peer(), peer(), peer()]);
  try {
    const [a, b, c] = peers as [dgram.Socket, dgram.Socket, dgram.Socket];
    const garbage = [
      Buffer.alloc(0),
      Buffer.from('hello'),
      Buffer.alloc(1400, 0xff),
      Buffer.from('00000000f200', 'hex'),
      firstPacket(1, Buffer.alloc(4)).subarray(0, 20),
    ];
    for (const g of garbage) a.send(g, listener.port, '127.0.0.1');
    await waitFor(() => listener.dropped === garbage.length, 'every garbage datagram to be counted');
    assert.equal(listener.sessionCount, 0);

    a.send(firstPacket(7, Buffer.from('hi')), listener.port, '127.0.0.1');
    await waitFor(() => sessions.length === 1, 'a session from the first packet');
    const first = sessions[0] as KcpSessionInfo;
    assert.equal(first.session.conv, 7);
    const [data] = (await once(first.session, 'data')) as [Buffer];
    assert.equal(data.toString(), 'hi');

    // its own garbage: counted on the session, which stays open
    a.send(Buffer.from('not kcp at all, but long enough'), listener.port, '127.0.0.1');
    await waitFor(() => first.session.malformed === 1, 'the session to count the bad datagram');
    assert.equal(first.session.destroyed, false);

    b.send(firstPacket(8, Buffer.from('x')), listener.port, '127.0.0.1');
    await waitFor(() => sessions.length === 2, 'a second session');
    const before = listener.dropped;
    c.send(firstPacket(9, Buffer.from('x')), listener.port, '127.0.0.1');
    await waitFor(() => listener.dropped === before + 1, 'the third peer to be turned away');
    assert.equal(listener.sessionCount, 2);
  } finally {
    for (const p of peers) p.close();
    await listener.close();
  }
  assert.equal(listener.sessionCount, 0);
});
