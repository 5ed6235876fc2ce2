import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { silentLogger } from '../../src/util/logger.js';
import { makeClient, portOf, startServer, waitFor } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, udpProxy } from '../helpers/udp.js';

type Json = Record<string, unknown>;

const FRPS_DEFAULTS = { healthCheck: { type: '', intervalSeconds: 0 }, localIP: '127.0.0.1', plugin: null };

test('dashboard lists udp, stcp and sudp proxies in frp shapes, visitor addresses as udp connections, no secrets', async () => {
  const echo = await startUdpEcho();
  const server = await startServer();
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: '', password: '', enablePrometheus: false, logger: silentLogger });
  const client = makeClient(server.port, {
    proxies: [
      udpProxy('dns', echo.port),
      { name: 'db', type: 'stcp', localPort: 1, secretKey: 'do-not-show', allowUsers: ['bob', 'carol'] },
      { name: 'game', type: 'sudp', localPort: echo.port, secretKey: 'do-not-show' },
    ],
  });
  const get = async (path: string): Promise<Json> => (await (await fetch(`http://127.0.0.1:${dashboard.port}${path}`)).json()) as Json;
  const peers = await Promise.all([UdpPeer.open(), UdpPeer.open(), UdpPeer.open()]);
  try {
    await client.start();
    const port = portOf((await client.waitForProxy('dns')).remoteAddr);
    await client.waitForProxy('db');
    await client.waitForProxy('game');
    for (const p of peers) await p.request(Buffer.from('ping'), port);

    const udp = (await get('/api/proxy/udp')).proxies as Json[];
    assert.equal(udp.length, 1);
    assert.deepEqual(udp[0]!.conf, {
      name: 'dns',
      type: 'udp',
      transport: { bandwidthLimit: '', bandwidthLimitMode: 'client' },
      loadBalancer: { group: '' },
      ...FRPS_DEFAULTS,
      remotePort: port,
    });
    assert.equal(udp[0]!.status, 'online');
    await waitFor(() => server.findProxy('dns')?.activeConnections === 3, 'three visitor addresses');
    assert.equal((await get('/api/proxy/udp/dns')).curConns, 3);

    const stcp = (await get('/api/proxy/stcp/db')) as Json;
    assert.deepEqual(stcp.conf, {
      name: 'db',
      type: 'stcp',
      transport: { bandwidthLimit: '', bandwidthLimitMode: 'client' },
      loadBalancer: { group: '' },
      ...FRPS_DEFAULTS,
      allowUsers: ['bob', 'carol'],
    });
    const sudp = (await get('/api/proxy/sudp/game')) as Json;
    assert.deepEqual(sudp.conf, {
      name: 'game',
      type: 'sudp',
      transport: { bandwidthLimit: '', bandwidthLimitMode: 'client' },
      loadBalancer: { group: '' },
      ...FRPS_DEFAULTS,
      allowUsers: [],
    });
    assert.doesNotMatch(JSON.stringify(await get('/api/proxies/db')) + JSON.stringify(sudp), /do-not-show/);
    const info = await get('/api/serverinfo');
    assert.deepEqual(info.proxyTypeCount, { udp: 1, stcp: 1, sudp: 1 });
  } finally {
    for (const p of peers) p.close();
    client.stop();
    await dashboard.close();
    await server.stop();
    await echo.close();
  }
});
