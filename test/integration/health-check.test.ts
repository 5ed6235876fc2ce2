import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyStatus } from '../../src/client/client.js';
import type { RawProxy } from '../helpers/config.js';
import { freePort, makeClient, startServer, waitFor } from '../helpers/tunnel.js';

function backend(name: string, port = 0): Promise<Server> {
  const s = createServer((_req, res) => res.end(name));
  s.listen(port, '127.0.0.1');
  return once(s, 'listening').then(() => s);
}

function get(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('health checks take a failing member out of its group and put it back when it recovers', async () => {
  const a = await backend('A');
  const aPort = (a.address() as AddressInfo).port;
  const b = await backend('B');
  const server = await startServer({ vhostHTTPPort: await freePort() });
  const healthCheck: RawProxy['healthCheck'] = { type: 'http', path: '/', intervalSeconds: 1, timeoutSeconds: 1, maxFailed: 1 };
  const client = makeClient(server.port, {
    proxies: [
      { name: 'g1', type: 'http', localPort: aPort, customDomains: ['ha.example.com'], loadBalancer: { group: 'ha', groupKey: 'k' }, healthCheck },
      {
        name: 'g2',
        type: 'http',
        localPort: (b.address() as AddressInfo).port,
        customDomains: ['ha.example.com'],
        loadBalancer: { group: 'ha', groupKey: 'k' },
        healthCheck,
      },
    ],
  });
  const phaseOf = (name: string, phase: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (s: ProxyStatus): void => {
        if (s.name === name && s.phase === phase) {
          client.off('proxy', check);
          resolve();
        }
      };
      client.on('proxy', check);
    });
  try {
    await client.start();
    await client.waitForProxy('g1');
    await client.waitForProxy('g2');
    const port = server.vhostHttpPort;
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await get(port, 'ha.example.com'));
    assert.deepEqual([...seen].sort(), ['A', 'B']);

    const failed = phaseOf('g1', 'check failed');
    await new Promise((r) => a.close(r));
    a.closeAllConnections();
    await failed;
    assert.match(client.status('g1')!.err, /health check/);
    await waitFor(() => server.findProxy('g1') === undefined, 'the server to take g1 out of the group');
    for (let i = 0; i < 4; i++) assert.equal(await get(port, 'ha.example.com'), 'B', 'only the healthy member serves');

    const back = phaseOf('g1', 'running');
    const a2 = await backend('A', aPort);
    await back;
    seen.clear();
    for (let i = 0; i < 4; i++) seen.add(await get(port, 'ha.example.com'));
    assert.deepEqual([...seen].sort(), ['A', 'B']);
    a2.close();
  } finally {
    client.stop();
    await server.stop();
    b.close();
  }
});
