import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import { UDP_STREAM_MAX_BODY, decodeUdpPacket, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import type { Message } from '../../src/protocol/messages.js';
import { withTimeout } from '../../src/util/timeout.js';
import { rawLogin } from '../helpers/raw-client.js';
import { captureLog, makeClient, portOf, startServer } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, udpProxy } from '../helpers/udp.js';

/** Resolves when the stream has closed, however (a reset is expected here). */
function closed(stream: Duplex): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => (stream.destroyed ? resolve() : stream.once('close', () => resolve()))),
    5000,
    'the work connection to close',
  );
}

/** The next UDPPacket the server writes on a raw work connection. */
function nextPacket(stream: Duplex, timeoutMs = 5000): Promise<Message> {
  const decoder = new MessageDecoder({ maxBodyLength: UDP_STREAM_MAX_BODY });
  return withTimeout(
    new Promise<Message>((resolve) => {
      const onData = (chunk: Buffer): void => {
        decoder.push(chunk);
        const msg = decoder.next();
        if (msg) {
          stream.off('data', onData);
          resolve(msg);
        }
      };
      stream.on('data', onData);
    }),
    timeoutMs,
    'a UDPPacket on the work connection',
  );
}

test('forged, oversize and misaddressed UDPPackets: refused and logged, only that work connection closed', async () => {
  const log = captureLog();
  const echo = await startUdpEcho();
  const server = await startServer({}, log.logger);
  const client = makeClient(server.port, { proxies: [udpProxy('good', echo.port)] });
  const raw = await rawLogin(server.port);
  const peer = await UdpPeer.open();
  const stranger = await UdpPeer.open();
  try {
    await client.start();
    const goodPort = portOf((await client.waitForProxy('good')).remoteAddr);
    const resp = await raw.newProxy({ proxy_name: 'evil', proxy_type: 'udp' });
    assert.ok(resp.type === 'NewProxyResp' && !resp.body.error, JSON.stringify(resp.body));
    const evilPort = portOf(resp.body.remote_addr ?? '');

    // 1. A payload that is not base64: BURROW_BAD_FRAME, the connection closes.
    let work = await raw.serveWorkConn();
    assert.equal(work.start.proxy_name, 'evil');
    work.stream.write(encodeMessage({ type: 'UDPPacket', body: { c: 'not base64!', r: { IP: '127.0.0.1', Port: peer.port, Zone: '' } } }));
    await closed(work.stream);
    assert.match(await log.waitForLine(/udp work connection refused.*BURROW_BAD_FRAME/), /"proxy":"evil"/);

    // 2. The server takes another work connection; an oversize frame header closes that one.
    work = await raw.serveWorkConn();
    const header = Buffer.alloc(9);
    header[0] = 0x75;
    header.writeBigInt64BE(BigInt(UDP_STREAM_MAX_BODY + 1), 1);
    work.stream.write(header);
    await closed(work.stream);
    await log.waitForLine(/udp work connection refused.*BURROW_FRAME_TOO_LARGE/);

    // 3. A well-formed reply to an address that never sent to the proxy is dropped, the connection stays.
    work = await raw.serveWorkConn();
    work.stream.write(encodeUdpPacket(Buffer.from('unsolicited'), { ip: '127.0.0.1', port: stranger.port, zone: '' }));
    await log.waitForLine(/udp reply refused.*BURROW_UDP_UNKNOWN_PEER/);
    await assert.rejects(stranger.next(200), /timed out/);
    assert.ok(!work.stream.destroyed, 'a misaddressed reply does not cost the work connection');

    // The same connection still serves a real visitor, both ways.
    const arriving = nextPacket(work.stream);
    peer.send(Buffer.from('question'), evilPort);
    const msg = await arriving;
    assert.ok(msg.type === 'UDPPacket');
    const { payload, addr } = decodeUdpPacket(msg.body);
    assert.equal(payload.toString(), 'question');
    work.stream.write(encodeUdpPacket(Buffer.from('answer'), addr));
    assert.equal((await peer.next(5000)).toString(), 'answer');

    // And the other client's tunnel never noticed.
    const other = await UdpPeer.open();
    try {
      assert.equal((await other.request(Buffer.from('still here'), goodPort)).toString(), 'still here');
    } finally {
      other.close();
    }
  } finally {
    peer.close();
    stranger.close();
    raw.close();
    client.stop();
    await server.stop();
    await echo.close();
  }
});

test('udp remote ports follow the tcp policy: allowPorts, a taken port, 0 picks one', async () => {
  const taken = await UdpPeer.open();
  const echo = await startUdpEcho();
  const server = await startServer({
    allowPorts: [
      { start: taken.port, end: taken.port },
      { start: 20000, end: 60000 },
    ],
  });
  const client = makeClient(server.port, {
    proxies: [udpProxy('outside', echo.port, { remotePort: 10 }), udpProxy('busy', echo.port, { remotePort: taken.port }), udpProxy('any', echo.port)],
  });
  try {
    await client.start();
    await assert.rejects(client.waitForProxy('outside'), /remote UDP port 10 is not allowed by the server/);
    await assert.rejects(client.waitForProxy('busy'), new RegExp(`remote UDP port ${taken.port} is already in use`));
    const port = portOf((await client.waitForProxy('any')).remoteAddr);
    assert.ok(port >= 20000 && port <= 60000, `picked ${port} inside the allowed range`);
    const peer = await UdpPeer.open();
    assert.equal((await peer.request(Buffer.from('ok'), port)).toString(), 'ok');
    peer.close();
  } finally {
    client.stop();
    await server.stop();
    await echo.close();
    taken.close();
  }
});
