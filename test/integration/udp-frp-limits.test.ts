import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import { BURROW_FEATURES } from '../../src/protocol/burrow-features.js';
import type { Message } from '../../src/protocol/messages.js';
import { UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import { UdpClientProxy } from '../../src/proxy/shared/udp-client.js';
import { withTimeout } from '../../src/util/timeout.js';
import { rawLogin } from '../helpers/raw-client.js';
import { socketPair } from '../helpers/streams.js';
import { patternBytes, portOf, startServer, testLogger } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho } from '../helpers/udp.js';

/** frp's reader refuses a message body above this (golib's json message limit). */
const FRP_MAX_BODY = 10240;

/** The next UDPPacket written on `stream`, with its body length as framed. */
function nextPacket(stream: Duplex): Promise<{ payload: Buffer; bodyLength: number }> {
  const decoder = new MessageDecoder({ maxBodyLength: UDP_STREAM_MAX_BODY });
  let bytes = Buffer.alloc(0);
  return withTimeout(
    new Promise((resolve) => {
      const onData = (chunk: Buffer): void => {
        bytes = Buffer.concat([bytes, chunk]);
        decoder.push(chunk);
        let msg: Message | undefined;
        while ((msg = decoder.next())) {
          if (msg.type !== 'UDPPacket') continue;
          stream.off('data', onData);
          resolve({ payload: decodeUdpPacket(msg.body).payload, bodyLength: Number(bytes.readBigInt64BE(1)) });
          return;
        }
      };
      stream.on('data', onData);
    }),
    5000,
    'a UDPPacket',
  );
}

for (const { packetSize, kept } of [
  { packetSize: undefined, kept: 1500 },
  // A udpPacketSize frp itself would overflow its 10240 limit with: cut further, never sent oversize.
  { packetSize: 9000, kept: undefined },
]) {
  test(`server toward a stock frpc (udpPacketSize ${packetSize ?? 'default'}): a 9000-byte datagram is cut as frp cuts it`, async (t) => {
    const server = await startServer(packetSize ? { udpPacketSize: packetSize } : {});
    t.after(() => server.stop());
    const raw = await rawLogin(server.port);
    t.after(() => raw.close());
    const peer = await UdpPeer.open();
    t.after(() => peer.socket.close());
    const resp = await raw.newProxy({ proxy_name: 'u', proxy_type: 'udp' });
    assert.ok(resp.type === 'NewProxyResp' && !resp.body.error, JSON.stringify(resp.body));
    const work = await raw.serveWorkConn();
    const datagram = patternBytes(9000, 3);
    const arrived = nextPacket(work.stream);
    peer.send(datagram, portOf(resp.body.remote_addr ?? ''));
    const { payload, bodyLength } = await arrived;
    assert.ok(bodyLength <= FRP_MAX_BODY, `body of ${bodyLength} bytes`);
    if (kept !== undefined) assert.equal(payload.length, kept);
    else assert.ok(payload.length > 7000 && payload.length < 9000, `${payload.length} bytes kept`);
    assert.ok(payload.equals(datagram.subarray(0, payload.length)), 'the datagram’s first bytes');
  });
}

test('server toward a burrow client that said so: the datagram whole, and StartWorkConn says the server reads whole ones', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const raw = await rawLogin(server.port, { features: [BURROW_FEATURES.wholeDatagrams] });
  t.after(() => raw.close());
  const peer = await UdpPeer.open();
  t.after(() => peer.socket.close());
  const resp = await raw.newProxy({ proxy_name: 'u', proxy_type: 'udp' });
  assert.ok(resp.type === 'NewProxyResp' && !resp.body.error, JSON.stringify(resp.body));
  const work = await raw.serveWorkConn();
  assert.deepEqual(work.start.burrow_features, [BURROW_FEATURES.wholeDatagrams]);
  const datagram = patternBytes(30_000, 4);
  const arrived = nextPacket(work.stream);
  peer.send(datagram, portOf(resp.body.remote_addr ?? ''));
  assert.ok((await arrived).payload.equals(datagram));
});

for (const whole of [false, true]) {
  test(`client toward ${whole ? 'a burrow server that said so: replies whole' : 'a stock frps: replies cut to udpPacketSize, bodies within 10240'}`, async (t) => {
    const echo = await startUdpEcho();
    t.after(() => echo.close());
    const [ours, theirs] = await socketPair(t);
    const proxy = new UdpClientProxy({
      name: 'u',
      localIP: '127.0.0.1',
      localPort: echo.port,
      payload: {},
      udpPacketSize: 1500,
      oneStreamAtATime: true,
      logger: testLogger('client'),
    });
    t.after(() => proxy.close());
    proxy.handleWorkConn(ours, { proxy_name: 'u', ...(whole ? { burrow_features: [BURROW_FEATURES.wholeDatagrams] } : {}) });
    const datagram = patternBytes(9000, 5);
    const reply = nextPacket(theirs);
    // What a server sends may be larger than what it reads (burrow reads up to 64 KiB either way).
    theirs.write(encodeUdpPacket(datagram, { ip: '198.51.100.7', port: 4000, zone: '' }));
    const { payload, bodyLength } = await reply;
    if (whole) {
      assert.ok(payload.equals(datagram));
    } else {
      assert.ok(bodyLength <= FRP_MAX_BODY, `body of ${bodyLength} bytes`);
      assert.ok(payload.equals(datagram.subarray(0, 1500)), `${payload.length} bytes`);
    }
    theirs.write(encodeMessage({ type: 'Ping', body: {} }));
  });
}
