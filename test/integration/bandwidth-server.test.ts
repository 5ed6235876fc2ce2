import { ManagePlugins } from '../../src/server/manage-plugins/manager.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer as createHttpServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ProxyFactory } from '../../src/server/proxy-factory.js';
import { BandwidthLimiter } from '../../src/relay/bandwidth-limit.js';
import { silentLogger } from '../../src/util/logger.js';
import { serverConfig } from '../helpers/config.js';
import { vhostRequest } from '../helpers/http.js';
import { echoThrough, freePort, patternBytes, portOf, tcpProxy, tunnelKit } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, udpProxy } from '../helpers/udp.js';

/**
 * bandwidthLimitMode = "server": the server paces the proxy's work
 * connections (a stock frpc leaves it to frps). The pacing itself is asserted
 * with a fake clock in test/unit/bandwidth-limit.test.ts; here: which proxies
 * get a bucket, and that every byte still arrives through it.
 */
test('the server builds one bucket per proxy in server mode only, in frp units', () => {
  const factory = new ProxyFactory(serverConfig(), Buffer.alloc(16), silentLogger, new ManagePlugins([], 1000, silentLogger));
  const limited = factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '10KB', bandwidth_limit_mode: 'server' });
  assert.ok(limited.limiter instanceof BandwidthLimiter);
  assert.equal(limited.limiter.bytesPerSecond, 10 * 1024);
  assert.equal(
    (factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '1.5MB', bandwidth_limit_mode: 'server' }).limiter as BandwidthLimiter).bytesPerSecond,
    1.5 * 1024 * 1024,
  );
  assert.equal(
    factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '10KB', bandwidth_limit_mode: 'client' }).limiter,
    undefined,
    'client mode: the client limits',
  );
  assert.equal(factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '10KB' }).limiter, undefined, 'no mode is client mode');
  assert.equal(factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '', bandwidth_limit_mode: 'server' }).limiter, undefined);
  assert.throws(() => factory.payloadOptions({ proxy_name: 'p', bandwidth_limit: '10GB', bandwidth_limit_mode: 'server' }), { code: 'BURROW_PROXY_REJECTED' });
});

test('server-mode limited tcp (plain and encrypted+compressed), http and udp proxies carry every byte', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const web = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  const udpEcho = await startUdpEcho();
  t.after(() => {
    web.close();
    udpEcho.close();
  });
  const server = await kit.startServer({ vhostHTTPPort: await freePort() });
  const limit = { bandwidthLimit: '1MB', bandwidthLimitMode: 'server' } as const;
  const client = kit.makeClient(server.port, {
    proxies: [
      tcpProxy('plain', echo.port, { transport: limit }),
      tcpProxy('sealed', echo.port, { transport: { ...limit, useEncryption: true, useCompression: true } }),
      { name: 'web', type: 'http', localPort: (web.address() as AddressInfo).port, customDomains: ['limited.test'], transport: limit },
      udpProxy('dns', udpEcho.port, { transport: { bandwidthLimit: '512KB', bandwidthLimitMode: 'server' } }),
    ],
  });
  await client.start();
  for (const name of ['plain', 'sealed']) {
    const port = portOf((await client.waitForProxy(name)).remoteAddr);
    const data = patternBytes(300 * 1024, name.length);
    const [a, b] = await Promise.all([echoThrough(port, data), echoThrough(port, data.subarray(0, 1000))]);
    assert.ok(a.equals(data), `${name}: every byte back, in order`);
    assert.ok(b.equals(data.subarray(0, 1000)), `${name}: a second connection shares the bucket`);
  }
  await client.waitForProxy('web');
  const body = patternBytes(200 * 1024, 7);
  const answer = await vhostRequest(server.vhostHttpPort, 'limited.test', '/', { method: 'POST', body });
  assert.equal(answer.status, 200);
  assert.ok(answer.body.equals(body), 'http: the body comes back whole');
  const udpPort = portOf((await client.waitForProxy('dns')).remoteAddr);
  const peer = await UdpPeer.open();
  t.after(() => peer.close());
  for (let i = 0; i < 10; i++) {
    const payload = patternBytes(4000, i + 1);
    assert.ok((await peer.request(payload, udpPort, 2000)).equals(payload));
  }
});
