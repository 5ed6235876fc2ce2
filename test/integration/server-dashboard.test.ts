import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { hostname } from 'node:os';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { buildClientConfig } from '../../src/config/load.js';
import type { ServerProxy } from '../../src/proxy/types.js';
import type { ControlSession } from '../../src/server/control-session.js';
import { ServerStats } from '../../src/admin/stats/server-stats.js';
import { silentLogger } from '../../src/util/logger.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, TOKEN, waitFor } from '../helpers/tunnel.js';

const basic = (user: string, pwd: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pwd}`).toString('base64')}` });
const TIME = /^\d\d-\d\d \d\d:\d\d:\d\d$/;
const PROXY_KEYS = ['name', 'conf', 'user', 'clientID', 'todayTrafficIn', 'todayTrafficOut', 'curConns', 'lastStartTime', 'lastCloseTime', 'status'];

type Json = Record<string, unknown>;

/** Parses the Prometheus text format strictly: every sample line must be `name{labels} value`. */
function parsePrometheus(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = Number(m[3]);
    assert.ok(!Number.isNaN(value), `not a number: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** A local service that reads everything, then answers with the byte count: traffic one way only. */
async function startSink(): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('error', () => {});
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('end', () => s.end(String(n)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

test('server dashboard: frp shapes, traffic counters, offline records, Prometheus, auth', async () => {
  const echo = await startEcho();
  const sink = await startSink();
  const server = await startServer();
  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: 'admin',
    password: 's3cret',
    enablePrometheus: true,
    logger: silentLogger,
  });
  const base = {
    serverAddr: '127.0.0.1',
    serverPort: server.port,
    auth: { token: TOKEN },
    loginFailExit: true,
    transport: { tcpMux: true, tls: { enable: true } },
    user: 'alice',
    clientID: 'laptop',
  };
  const ssh = tcpProxy('ssh', echo.port, { transport: { useEncryption: true } });
  const web = tcpProxy('web', sink.port, { annotations: { owner: 'ops' } });
  const client = makeClient(server.port, { proxies: [ssh, web], extra: { user: 'alice', clientID: 'laptop' } });
  const url = (path: string) => `http://127.0.0.1:${dashboard.port}${path}`;
  const get = async (path: string): Promise<Response> => fetch(url(path), { headers: basic('admin', 's3cret') });
  const getJson = async <T = Json>(path: string): Promise<T> => {
    const res = await get(path);
    assert.equal(res.status, 200, `GET ${path}`);
    return (await res.json()) as T;
  };
  try {
    await client.start();
    const sshPort = portOf((await client.waitForProxy('ssh')).remoteAddr);
    await client.waitForProxy('web');

    // Auth: /healthz is open, everything else needs the password and a refusal tells nothing.
    assert.equal((await fetch(url('/healthz'))).status, 200);
    // A malformed %-escape in a path parameter answers 400 and the server keeps serving.
    assert.equal((await fetch(url('/api/proxies/%E0%A4%A'))).status, 400);
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await fetch(url('/api/serverinfo'))).status, 401);
    const refused = await fetch(url('/api/serverinfo'), { headers: basic('admin', 'wrong') });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="Restricted"');
    assert.doesNotMatch(await refused.text(), /alice|admin|s3cret|serverinfo|password/i);
    assert.equal((await fetch(url('/metrics'), { headers: basic('admin', 'wrong') })).status, 401);

    const info = await getJson('/api/serverinfo');
    assert.deepEqual(Object.keys(info), [
      'version',
      'bindPort',
      'vhostHTTPPort',
      'vhostHTTPSPort',
      'tcpmuxHTTPConnectPort',
      'kcpBindPort',
      'quicBindPort',
      'subdomainHost',
      'maxPoolCount',
      'maxPortsPerClient',
      'heartbeatTimeout',
      'totalTrafficIn',
      'totalTrafficOut',
      'curConns',
      'clientCounts',
      'proxyTypeCount',
    ]);
    assert.equal(info.bindPort, server.port);
    assert.equal(info.clientCounts, 1);
    assert.deepEqual(info.proxyTypeCount, { tcp: 2 });
    assert.equal(info.totalTrafficIn, 0);

    // ProxyStats, sorted by name, with conf in frp's key style.
    const list = await getJson<{ proxies: Json[] }>('/api/proxy/tcp');
    assert.deepEqual(
      list.proxies.map((p) => p.name),
      ['alice.ssh', 'alice.web'],
    );
    const sshStats = list.proxies[0]!;
    assert.deepEqual(Object.keys(sshStats), PROXY_KEYS);
    // What NewProxy does not carry (health check, local address, plugin) shows frps's defaults, as frps does.
    const FRPS_DEFAULTS = { healthCheck: { type: '', intervalSeconds: 0 }, localIP: '127.0.0.1', plugin: null };
    assert.deepEqual(sshStats.conf, {
      name: 'alice.ssh',
      type: 'tcp',
      transport: { useEncryption: true, bandwidthLimit: '', bandwidthLimitMode: 'client' },
      loadBalancer: { group: '' },
      ...FRPS_DEFAULTS,
      remotePort: sshPort,
    });
    assert.deepEqual(list.proxies[1]!.conf, {
      name: 'alice.web',
      type: 'tcp',
      transport: { bandwidthLimit: '', bandwidthLimitMode: 'client' },
      annotations: { owner: 'ops' },
      loadBalancer: { group: '' },
      ...FRPS_DEFAULTS,
      remotePort: portOf(client.status('web')!.remoteAddr),
    });
    assert.equal(sshStats.user, 'alice');
    assert.equal(sshStats.clientID, 'laptop');
    assert.equal(sshStats.status, 'online');
    assert.match(sshStats.lastStartTime as string, TIME);
    assert.equal(sshStats.lastCloseTime, '');
    assert.equal(sshStats.todayTrafficIn, 0);
    assert.deepEqual((await getJson<{ proxies: Json[] }>('/api/proxy/udp')).proxies, []);
    assert.deepEqual(await getJson('/api/proxy/tcp/alice.ssh'), sshStats);
    assert.deepEqual(await getJson('/api/proxies/alice.ssh'), sshStats);
    const missing = await get('/api/proxy/udp/alice.ssh');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { Code: 404, Msg: 'no proxy info found' });
    assert.equal((await get('/api/proxies/nope')).status, 404);

    // Counters move when bytes flow: in = visitor → client, out = back.
    const data = patternBytes(100 * 1024, 7);
    assert.ok((await echoThrough(sshPort, data)).equals(data));
    const after = await getJson('/api/proxies/alice.ssh');
    assert.equal(after.todayTrafficIn, data.length);
    assert.equal(after.todayTrafficOut, data.length);
    const traffic = await getJson<{ name: string; trafficIn: number[]; trafficOut: number[] }>('/api/traffic/alice.ssh');
    assert.deepEqual(Object.keys(traffic), ['name', 'trafficIn', 'trafficOut']);
    assert.deepEqual(traffic.trafficIn, [data.length, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(traffic.trafficOut, [data.length, 0, 0, 0, 0, 0, 0]);
    assert.equal((await get('/api/traffic/nope')).status, 404);
    // One-way traffic tells the directions apart: the sink answers with a short count.
    const webPort = portOf(client.status('web')!.remoteAddr);
    assert.equal((await echoThrough(webPort, data)).toString(), String(data.length));
    const oneWay = await getJson('/api/proxies/alice.web');
    assert.equal(oneWay.todayTrafficIn, data.length);
    assert.equal(oneWay.todayTrafficOut, String(data.length).length);
    const totals = await getJson('/api/serverinfo');
    assert.equal(totals.totalTrafficIn, 2 * data.length);
    assert.equal(totals.totalTrafficOut, data.length + String(data.length).length);

    // A visitor connection that stays open shows in curConns and in the gauge.
    const visitor = connect({ host: '127.0.0.1', port: sshPort });
    visitor.write('ping');
    await once(visitor, 'data');
    assert.equal((await getJson('/api/proxies/alice.ssh')).curConns, 1);
    assert.equal((await getJson('/api/serverinfo')).curConns, 1);

    const metricsRes = await get('/metrics');
    assert.equal(metricsRes.status, 200);
    const samples = parsePrometheus(await metricsRes.text());
    const sample = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(sample('frp_server_client_counts'), 1);
    assert.equal(sample('frp_server_proxy_counts', { type: 'tcp' }), 2);
    assert.equal(sample('frp_server_proxy_counts_detailed', { type: 'tcp', name: 'alice.ssh' }), 1);
    assert.equal(sample('frp_server_connection_counts', { name: 'alice.ssh', type: 'tcp' }), 1);
    assert.equal(sample('frp_server_traffic_in', { name: 'alice.ssh', type: 'tcp' }), data.length + 4);
    assert.equal(sample('frp_server_traffic_out', { name: 'alice.ssh', type: 'tcp' }), data.length + 4);
    assert.equal(sample('frp_server_traffic_in', { name: 'alice.web', type: 'tcp' }), data.length);
    assert.equal(sample('frp_server_traffic_out', { name: 'alice.web', type: 'tcp' }), String(data.length).length);
    visitor.destroy();
    await waitFor(() => server.findProxy('alice.ssh')?.activeConnections === 0, 'the visitor to go');

    // Clients: frp's ClientInfo, key user.clientID.
    const clients = await getJson<Json[]>('/api/clients');
    assert.equal(clients.length, 1);
    const c = clients[0]!;
    assert.deepEqual(Object.keys(c), [
      'key',
      'user',
      'clientID',
      'runID',
      'version',
      'wireProtocol',
      'hostname',
      'clientIP',
      'firstConnectedAt',
      'lastConnectedAt',
      'online',
    ]);
    assert.equal(c.wireProtocol, 'v1');
    assert.equal(c.key, 'alice.laptop');
    assert.equal(c.wireProtocol, 'v1');
    assert.equal(c.clientID, 'laptop');
    // Cut short: enough to tell clients apart, not the id a work connection names.
    const fullRunId = server.clients[0]!.runId;
    assert.equal(c.runID, `${fullRunId.slice(0, 8)}…`);
    assert.ok(!JSON.stringify(await getJson('/api/clients')).includes(fullRunId), 'the full run id is nowhere in the answer');
    assert.deepEqual(await getJson(`/api/clients?runId=${fullRunId}`), [c]);
    assert.equal(c.hostname, hostname());
    assert.equal(c.clientIP, '127.0.0.1');
    assert.equal(c.online, true);
    assert.ok(Math.abs((c.lastConnectedAt as number) - Date.now() / 1000) < 3600, 'times are Unix seconds');
    assert.deepEqual(await getJson('/api/clients/alice.laptop'), c);
    assert.deepEqual(await getJson(`/api/clients?runId=${c.runID as string}&status=online`), [c]);
    assert.deepEqual(await getJson('/api/clients?user=bob'), []);
    assert.deepEqual(await getJson('/api/clients?status=offline'), []);
    assert.equal((await get('/api/clients/nobody')).status, 404);

    // A closed proxy stays listed, offline, with its close time and no conf.
    client.reload(buildClientConfig({ ...base, proxies: [ssh] }));
    await waitFor(() => server.findProxy('alice.web') === undefined, 'the server to close alice.web');
    const closed = await getJson('/api/proxies/alice.web');
    assert.equal(closed.status, 'offline');
    assert.equal(closed.conf, null);
    assert.match(closed.lastCloseTime as string, TIME);
    assert.equal(closed.curConns, 0);
    assert.deepEqual((await getJson('/api/serverinfo')).proxyTypeCount, { tcp: 1 });
    const afterClose = parsePrometheus(await (await get('/metrics')).text());
    assert.equal(afterClose.find((s) => s.name === 'frp_server_proxy_counts_detailed' && s.labels.name === 'alice.web')?.value, 0);

    // Forgetting offline proxies: only status=offline is accepted.
    assert.equal((await fetch(url('/api/proxies?status=online'), { method: 'DELETE', headers: basic('admin', 's3cret') })).status, 400);
    const cleared = await fetch(url('/api/proxies?status=offline'), { method: 'DELETE', headers: basic('admin', 's3cret') });
    assert.deepEqual(await cleared.json(), { Code: 200, Msg: 'success' });
    assert.equal((await get('/api/proxies/alice.web')).status, 404);
    assert.equal((await getJson('/api/proxies/alice.ssh')).status, 'online');

    // The client leaves: its record stays, offline, without a run id; its proxy goes offline too.
    client.stop();
    await waitFor(() => server.clients.length === 0, 'the server to see the client go');
    const gone = await getJson('/api/clients/alice.laptop');
    assert.equal(gone.online, false);
    assert.equal(gone.runID, '');
    assert.equal(typeof gone.disconnectedAt, 'number');
    assert.deepEqual(await getJson('/api/clients?status=offline'), [gone]);
    assert.equal((await getJson('/api/proxies/alice.ssh')).status, 'offline');
    assert.equal((await getJson('/api/proxies/alice.ssh')).todayTrafficIn, data.length + 4, 'traffic survives the close');
    assert.equal((await getJson('/api/serverinfo')).clientCounts, 0);
  } finally {
    client.stop();
    await dashboard.close();
    await server.stop();
    await echo.close();
    await new Promise((resolve) => sink.server.close(resolve));
  }
});

test('server dashboard: /metrics is absent without enablePrometheus; no password means open', async () => {
  const server = await startServer();
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: '', password: '', enablePrometheus: false, logger: silentLogger });
  try {
    const res = await fetch(`http://127.0.0.1:${dashboard.port}/metrics`);
    assert.equal(res.status, 404);
    const info = await fetch(`http://127.0.0.1:${dashboard.port}/api/serverinfo`);
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as Json).clientCounts, 0);
  } finally {
    await dashboard.close();
    await server.stop();
  }
});

/** A stand-in proxy whose byte counters the test moves by hand. */
function fakeProxy(name: string): ServerProxy {
  return { name, type: 'tcp', remoteAddr: ':7001', portsUsed: 1, traffic: { bytesIn: 0, bytesOut: 0 }, activeConnections: 0, close: async () => {} };
}

function fakeControl(runId: string): ControlSession {
  return { runId, login: { version: '0.70.1', user: '', hostname: 'h' }, remoteAddress: '::ffff:10.0.0.2', proxies: new Map() } as unknown as ControlSession;
}

test('server stats: traffic rolls into day buckets at local midnight; offline records are bounded', () => {
  const source = Object.assign(new EventEmitter(), { clients: [] as ControlSession[] });
  // Noon, local time, so +/- a few hours never crosses midnight by accident.
  const day0 = new Date(2024, 4, 10, 12, 0, 0).getTime();
  let now = day0;
  const stats = new ServerStats(source, { now: () => now, maxOfflineProxies: 2, maxOfflineClients: 1, foldIntervalMs: 0 });
  try {
    const ctl = fakeControl('run1');
    source.emit('clientOnline', ctl);
    const p = fakeProxy('a');
    source.emit('proxyStarted', ctl, p, { proxy_name: 'a', proxy_type: 'tcp' });

    p.traffic.bytesIn = 100;
    p.traffic.bytesOut = 10;
    assert.deepEqual(stats.traffic('a')?.trafficIn, [100, 0, 0, 0, 0, 0, 0]);
    now = new Date(2024, 4, 11, 12, 0, 0).getTime();
    p.traffic.bytesIn = 150;
    assert.deepEqual(stats.traffic('a')?.trafficIn, [50, 100, 0, 0, 0, 0, 0], 'only the new bytes land on the new day');
    assert.equal(stats.proxy('a')?.todayTrafficIn, 50);
    now = new Date(2024, 4, 14, 12, 0, 0).getTime();
    assert.deepEqual(stats.traffic('a')?.trafficIn, [0, 0, 0, 50, 100, 0, 0]);
    now = new Date(2024, 4, 30, 12, 0, 0).getTime();
    assert.deepEqual(stats.traffic('a')?.trafficOut, [0, 0, 0, 0, 0, 0, 0], 'history older than 7 days is gone');
    assert.equal(stats.proxyCounters()[0]?.totalIn, 150, 'the Prometheus total is cumulative');

    // The same name restarted with the same type keeps its history; the new instance's counters start at 0.
    source.emit('proxyClosed', ctl, p);
    const p2 = fakeProxy('a');
    source.emit('proxyStarted', ctl, p2, { proxy_name: 'a', proxy_type: 'tcp' });
    p2.traffic.bytesIn = 7;
    assert.equal(stats.proxyCounters()[0]?.totalIn, 157);

    // More offline proxies than allowed: the oldest are dropped first.
    for (const name of ['b', 'c', 'd']) {
      const q = fakeProxy(name);
      source.emit('proxyStarted', ctl, q, { proxy_name: name });
      now += 1000;
      source.emit('proxyClosed', ctl, q);
    }
    assert.equal(stats.proxy('b'), undefined);
    assert.equal(stats.proxy('c')?.live, undefined);
    assert.equal(stats.proxy('d')?.lastClose, now);
    assert.ok(stats.proxy('a')?.live, 'live proxies are never dropped');
    // A proxy offline longer than 7 days is forgotten, as frp.
    now += 8 * 24 * 3600_000;
    assert.equal(stats.proxy('d'), undefined);

    // Clients: the key falls back to the run id; offline clients are bounded too.
    source.emit('clientOffline', ctl);
    const ctl2 = fakeControl('run2');
    source.emit('clientOnline', ctl2);
    source.emit('clientOffline', ctl2);
    assert.deepEqual(
      stats.clients().map((c) => c.key),
      ['run2'],
    );
    assert.equal(stats.client('run2')?.ip, '10.0.0.2');
    assert.equal(stats.client('run2')?.clientID, 'run2');
  } finally {
    stats.close();
  }
  assert.equal(source.listenerCount('proxyStarted'), 0, 'close() unsubscribes');
});
