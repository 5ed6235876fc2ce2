import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { silentLogger } from '../../src/util/logger.js';
import { tcpProxy, visitor } from '../helpers/config.js';
import { vhostRequest } from '../helpers/http.js';
import { echoThrough, freePort, patternBytes, portOf, tunnelKit } from '../helpers/tunnel.js';

/** True when the server closed the connection without a byte back: the user connection never reached the client. */
async function closedWithoutReply(port: number, send = 'hello'): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write(send);
  let got = 0;
  socket.on('data', (c: Buffer) => (got += c.length));
  await once(socket, 'close');
  return got === 0;
}

async function echoes(port: number): Promise<boolean> {
  const data = patternBytes(2000, port);
  return (await echoThrough(port, data).catch(() => Buffer.alloc(0))).equals(data);
}

test('allowIPs/denyIPs of a tcp proxy: a visitor outside them is closed before the client sees it', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer();
  const client = kit.makeClient(server.port, {
    proxies: [
      tcpProxy('elsewhere', echo.port, { allowIPs: ['10.0.0.0/8', '2001:db8::/32'] }),
      tcpProxy('denied', echo.port, { denyIPs: ['127.0.0.1'] }),
      tcpProxy('loopback', echo.port, { allowIPs: ['127.0.0.0/8'], denyIPs: ['10.0.0.1'] }),
    ],
  });
  await client.start();
  const port = async (name: string) => portOf((await client.waitForProxy(name)).remoteAddr);
  assert.equal(await closedWithoutReply(await port('elsewhere')), true);
  assert.equal(await closedWithoutReply(await port('denied')), true);
  assert.equal(await echoes(await port('loopback')), true);
  // Counted for the dashboard and Prometheus.
  assert.equal(server.proxies.refusedByIpRules, 2);
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: '', password: '', enablePrometheus: true, logger: silentLogger });
  t.after(() => dashboard.close());
  const api = (await (await fetch(`http://127.0.0.1:${dashboard.port}/api/users`)).json()) as { refusedByIpRules: number };
  assert.equal(api.refusedByIpRules, 2);
  assert.match(await (await fetch(`http://127.0.0.1:${dashboard.port}/metrics`)).text(), /burrow_server_ip_rule_refusals_total 2/);
});

test('server-wide denyIPs apply to every proxy, and a proxy cannot widen them', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer({ denyIPs: ['127.0.0.0/8'] });
  const client = kit.makeClient(server.port, { proxies: [tcpProxy('wide', echo.port, { allowIPs: ['0.0.0.0/0'] })] });
  await client.start();
  assert.equal(await closedWithoutReply(portOf((await client.waitForProxy('wide')).remoteAddr)), true);
});

test('allowIPs on an http proxy closes a request from outside them; other routes of the vhost still answer', async (t) => {
  const kit = tunnelKit(t);
  const vhostHTTPPort = await freePort();
  const web = await import('node:http').then((http) => http.createServer((_req, res) => res.end('home')));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  t.after(() => new Promise((r) => web.close(r)));
  const webPort = (web.address() as { port: number }).port;
  const server = await kit.startServer({ vhostHTTPPort });
  const client = kit.makeClient(server.port, {
    proxies: [
      { name: 'closed', type: 'http', localIP: '127.0.0.1', localPort: webPort, customDomains: ['closed.test'], allowIPs: ['192.0.2.0/24'] },
      { name: 'open', type: 'http', localIP: '127.0.0.1', localPort: webPort, customDomains: ['open.test'] },
    ],
  });
  await client.start();
  await client.waitForProxy('closed');
  await client.waitForProxy('open');
  await assert.rejects(vhostRequest(vhostHTTPPort, 'closed.test', '/'), /socket hang up|ECONNRESET/);
  const open = await vhostRequest(vhostHTTPPort, 'open.test', '/');
  assert.equal(open.body.toString(), 'home');
});

test('allowIPs on an stcp proxy refuses a visitor whose address is outside them', async (t) => {
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const server = await kit.startServer();
  const secret = { type: 'stcp' as const, localIP: '127.0.0.1', localPort: echo.port, secretKey: 'sk', allowUsers: ['*'] };
  const owner = kit.makeClient(server.port, {
    proxies: [
      { name: 'far', ...secret, allowIPs: ['198.51.100.0/24'] },
      { name: 'near', ...secret, allowIPs: ['127.0.0.1'] },
    ],
  });
  await owner.start();
  await owner.waitForProxy('far');
  await owner.waitForProxy('near');
  const farPort = await freePort();
  const nearPort = await freePort();
  const visiting = kit.makeClient(server.port, {
    extra: { visitors: [visitor('stcp', 'to-far', 'far', 'sk', farPort), visitor('stcp', 'to-near', 'near', 'sk', nearPort)] },
  });
  await visiting.start();
  assert.equal(await echoes(farPort), false);
  assert.equal(await echoes(nearPort), true);
});

test('a bad allowIPs entry is refused at load with the key named', async () => {
  const { buildClientConfig } = await import('../../src/config/load.js');
  assert.throws(
    () => buildClientConfig({ serverAddr: '127.0.0.1', proxies: [{ name: 'p', type: 'tcp', localPort: 1, allowIPs: ['10.0.0.0/33'] }] }),
    /proxies\[0\]\.allowIPs: "10\.0\.0\.0\/33" is not an IP address or CIDR block/,
  );
});
