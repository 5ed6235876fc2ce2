import assert from 'node:assert/strict';
import { test } from 'node:test';
import { echoThrough, patternBytes, portOf, tcpProxy, tunnelKit } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, udpProxy } from '../helpers/udp.js';

/**
 * transport.bandwidthLimit in client mode over real sockets: the pacing
 * itself is asserted with a fake clock in test/unit/bandwidth-limit.test.ts;
 * here every byte must arrive intact, in order, through the limiter, with
 * encryption and compression on top of it as frp stacks them.
 */
test('a limited tcp proxy echoes 300 KB intact (plain, and encrypted + compressed)', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer();
  const client = kit.makeClient(server.port, {
    proxies: [
      tcpProxy('limited', echo.port, { transport: { bandwidthLimit: '1MB' } }),
      tcpProxy('limited-enc', echo.port, { transport: { bandwidthLimit: '1MB', useEncryption: true, useCompression: true } }),
      tcpProxy('server-mode', echo.port, { transport: { bandwidthLimit: '1MB', bandwidthLimitMode: 'server' } }),
    ],
  });
  await client.start();
  for (const name of ['limited', 'limited-enc', 'server-mode']) {
    const port = portOf((await client.waitForProxy(name)).remoteAddr);
    const data = patternBytes(300 * 1024, name.length);
    const [a, b] = await Promise.all([echoThrough(port, data), echoThrough(port, data.subarray(0, 1000))]);
    assert.ok(a.equals(data), `${name}: every byte back, in order`);
    assert.ok(b.equals(data.subarray(0, 1000)), `${name}: a second connection shares the bucket`);
  }
});

test('a limited udp proxy carries datagrams both ways', async (t) => {
  const kit = tunnelKit(t);
  const echo = await startUdpEcho();
  t.after(() => echo.close());
  const server = await kit.startServer();
  const client = kit.makeClient(server.port, { proxies: [udpProxy('dns', echo.port, { transport: { bandwidthLimit: '512KB' } })] });
  await client.start();
  const port = portOf((await client.waitForProxy('dns')).remoteAddr);
  const peer = await UdpPeer.open();
  t.after(() => peer.close());
  for (let i = 0; i < 20; i++) {
    const payload = patternBytes(8000, i + 1);
    assert.ok((await peer.request(payload, port, 2000)).equals(payload));
  }
});
