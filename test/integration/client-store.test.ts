import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { MAX_STORE_BODY_BYTES } from '../../src/admin/store-api.js';
import type { BurrowClient } from '../../src/client/client.js';
import { VisitorState } from '../../src/proxy/types.js';
import { isBurrowError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { echoThrough, freePort, patternBytes, portOf, tcpProxy, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/** The store's folder for one test, removed when it ends. */
function storeDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

/** One admin API call as a tool (curl, frp's e2e suite) makes it. */
async function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** frp's store-API body for a tcp proxy. */
function tcpDef(name: string, localPort: number, remotePort: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, type: 'tcp', tcp: { localIP: '127.0.0.1', localPort, remotePort, ...extra } };
}

async function refused(port: number): Promise<boolean> {
  const s = connect({ host: '127.0.0.1', port });
  const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
  return err.code === 'ECONNREFUSED';
}

async function carries(port: number, size = 64 * 1024): Promise<boolean> {
  const data = patternBytes(size, port);
  return (await echoThrough(port, data)).equals(data);
}

/** An open connection through a tunnel, to show that store changes leave it alone. */
async function openThrough(t: TestContext, port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  whenDone(t, () => s.destroy());
  s.write('hello');
  await once(s, 'data');
  return s;
}

async function stillOpen(s: Socket): Promise<boolean> {
  const back = once(s, 'data');
  s.write('again');
  return ((await back) as [Buffer])[0].toString() === 'again';
}

async function setup(t: TestContext, opts: { store?: string; extraProxies?: ReturnType<typeof tcpProxy>[] } = {}) {
  const { startEcho, startServer, makeClient } = tunnelKit(t);
  const echo = await startEcho();
  const server = await startServer();
  const client: BurrowClient = makeClient(server.port, {
    proxies: [tcpProxy('file-tcp', echo.port), ...(opts.extraProxies ?? [])],
    ...(opts.store !== undefined ? { extra: { store: { path: opts.store } } } : {}),
  });
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  whenDone(t, () => admin.close());
  await client.start();
  const filePort = portOf((await client.waitForProxy('file-tcp')).remoteAddr);
  return { echo, server, client, admin, filePort };
}

test("frp's store specs: create and connect, list and get, update moves the port, delete closes it; the file's tunnel is untouched", async (t) => {
  const dir = storeDir(t);
  const { echo, server, client, admin, filePort } = await setup(t, { store: join(dir, 'store.json') });
  assert.ok(await carries(filePort));
  const open = await openThrough(t, filePort);

  // create proxy via API and verify connection
  const [port1, port2] = [await freePort(), await freePort()];
  const created = await call(admin.port, 'POST', '/api/store/proxies', tcpDef('test-tcp', echo.port, port1));
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.body, {
    name: 'test-tcp',
    type: 'tcp',
    tcp: { localIP: '127.0.0.1', localPort: echo.port, remotePort: port1, name: 'test-tcp', type: 'tcp' },
  });
  await client.waitForProxy('test-tcp');
  assert.ok(await carries(port1));
  const status = (await call(admin.port, 'GET', '/api/status')).body as Record<string, Array<{ name: string; source?: string }>>;
  assert.deepEqual(
    status.tcp!.map((p) => [p.name, p.source]),
    [
      ['file-tcp', undefined],
      ['test-tcp', 'store'],
    ],
  );

  // list and get proxy via API
  const list = await call(admin.port, 'GET', '/api/store/proxies');
  assert.equal(list.status, 200);
  assert.deepEqual(
    (list.body as { proxies: Array<{ name: string }> }).proxies.map((p) => p.name),
    ['test-tcp'],
  );
  const one = await call(admin.port, 'GET', '/api/store/proxies/test-tcp');
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, created.body);
  const missing = await call(admin.port, 'GET', '/api/store/proxies/nonexistent');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { Code: 404, Msg: 'not found: proxy "nonexistent"' });
  assert.equal((await call(admin.port, 'GET', '/api/store/visitors')).text, '{"visitors":[]}');

  // rejects path/body name mismatch on update
  const renamed = await call(admin.port, 'PUT', '/api/store/proxies/test-tcp', tcpDef('proxy-b', echo.port, port1));
  assert.equal(renamed.status, 400);
  assert.deepEqual(renamed.body, { Code: 400, Msg: 'proxy name in URL must match name in body' });

  // rejects mismatched type block
  const mismatched = await call(admin.port, 'POST', '/api/store/proxies', { name: 'bad-proxy', type: 'tcp', udp: { localPort: 1234 } });
  assert.equal(mismatched.status, 400);
  assert.deepEqual(mismatched.body, { Code: 400, Msg: 'proxy type block "udp" does not match type "tcp"' });

  // update proxy via API: the new port serves, the old one is closed
  const updated = await call(admin.port, 'PUT', '/api/store/proxies/test-tcp', tcpDef('test-tcp', echo.port, port2));
  assert.equal(updated.status, 200, updated.text);
  await client.waitForProxy('test-tcp');
  assert.ok(await carries(port2));
  assert.ok(await refused(port1));
  const notThere = await call(admin.port, 'PUT', '/api/store/proxies/ghost', tcpDef('ghost', echo.port, 0));
  assert.equal(notThere.status, 404);

  // delete proxy via API
  const deleted = await call(admin.port, 'DELETE', '/api/store/proxies/test-tcp');
  assert.equal(deleted.status, 200);
  assert.equal(deleted.text, '');
  assert.equal(client.status('test-tcp'), undefined);
  await waitFor(() => server.findProxy('test-tcp') === undefined, 'the server to close "test-tcp"');
  assert.ok(await refused(port2));
  assert.equal((await call(admin.port, 'DELETE', '/api/store/proxies/test-tcp')).status, 404);

  // Through all of it the file's tunnel kept its connection and its control connection.
  assert.ok(await stillOpen(open));
  assert.ok(await carries(filePort));
  assert.equal(server.clients.length, 1);
});

test('store disabled: every store path answers 404 and says how to enable it', async (t) => {
  const { admin } = await setup(t);
  for (const [method, path] of [
    ['GET', '/api/store/proxies'],
    ['POST', '/api/store/proxies'],
    ['GET', '/api/store/visitors/x'],
    ['DELETE', '/api/store/visitors/x'],
  ] as const) {
    const a = await call(admin.port, method, path, method === 'POST' ? tcpDef('x', 1, 0) : undefined);
    assert.equal(a.status, 404, `${method} ${path}`);
    assert.match((a.body as { Msg: string }).Msg, /store disabled.*store\.path/);
  }
});

test('stored proxies and visitors survive a restart; the file is frp’s format, written with mode 0600', async (t) => {
  const dir = storeDir(t);
  const path = join(dir, 'sub', 'store.json');
  const first = await setup(t, { store: path });
  const { echo, admin } = first;
  const remote = await freePort();
  assert.equal((await call(admin.port, 'POST', '/api/store/proxies', tcpDef('kept', echo.port, remote))).status, 200);
  // A secret proxy and its visitor, both from the store: a visitor applies too.
  const secret = { name: 'secret', type: 'stcp', stcp: { localIP: '127.0.0.1', localPort: echo.port, secretKey: 'sk-1' } };
  assert.equal((await call(admin.port, 'POST', '/api/store/proxies', secret)).status, 200);
  const bindPort = await freePort();
  const vis = { name: 'to-secret', type: 'stcp', stcp: { serverName: 'secret', secretKey: 'sk-1', bindAddr: '127.0.0.1', bindPort } };
  const v = await call(admin.port, 'POST', '/api/store/visitors', vis);
  assert.equal(v.status, 200, v.text);
  await first.client.waitForProxy('secret');
  await waitFor(() => first.client.visitors.find((x) => x.name === 'to-secret')?.state === VisitorState.Running, 'the stored visitor to listen');
  assert.ok(await carries(bindPort));
  // Without admin credentials the answer hides the secret, as GET /api/config does; sending it back that way is refused.
  const read = await call(admin.port, 'GET', '/api/store/visitors/to-secret');
  assert.equal(read.text, JSON.stringify({ name: 'to-secret', type: 'stcp', stcp: { ...vis.stcp, secretKey: '<redacted>', name: 'to-secret', type: 'stcp' } }));
  const resent = await call(admin.port, 'PUT', '/api/store/visitors/to-secret', read.body);
  assert.equal(resent.status, 400);
  assert.match((resent.body as { Msg: string }).Msg, /still contains "<redacted>"/);

  assert.equal(statSync(path).mode & 0o777, 0o600);
  const onDisk = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(onDisk, {
    proxies: [
      { localIP: '127.0.0.1', localPort: echo.port, remotePort: remote, name: 'kept', type: 'tcp' },
      { localIP: '127.0.0.1', localPort: echo.port, secretKey: 'sk-1', name: 'secret', type: 'stcp' },
    ],
    visitors: [{ ...vis.stcp, name: 'to-secret', type: 'stcp' }],
  });

  // Restart: a new client with the same config runs what the store holds from the start.
  first.client.stop();
  await first.admin.close();
  await waitFor(() => first.server.findProxy('kept') === undefined, 'the server to forget the stopped client');
  const { startServer: _unused, makeClient } = tunnelKit(t);
  void _unused;
  const again = makeClient(first.server.port, { proxies: [tcpProxy('file-tcp', echo.port)], extra: { store: { path } } });
  await again.start();
  assert.equal(portOf((await again.waitForProxy('kept')).remoteAddr), remote);
  assert.ok(await carries(remote));
  await waitFor(() => again.visitors.find((x) => x.name === 'to-secret')?.state === VisitorState.Running, 'the stored visitor to listen again');
  await again.waitForProxy('secret');
  assert.ok(await carries(bindPort));
});

test('bad input gets one clear error naming the problem; nothing is stored and the other tunnels keep serving', async (t) => {
  const dir = storeDir(t);
  const path = join(dir, 'store.json');
  const { echo, server, client, admin, filePort } = await setup(t, { store: path });
  const open = await openThrough(t, filePort);
  assert.ok(await carries(filePort));

  const cases: Array<[string, unknown, number, RegExp]> = [
    ['malformed JSON', '{"name": "x", "type": "tcp", "tcp": {', 400, /^parse JSON error: /],
    ['not an object', '[1, 2]', 400, /^parse JSON error: the body must be a JSON object/],
    ['no name', { type: 'tcp', tcp: { localPort: 1 } }, 400, /^proxy name is required$/],
    ['unknown type', { name: 'x', type: 'ftp', ftp: {} }, 400, /^invalid proxy type: ftp$/],
    ['two blocks', { name: 'x', type: 'tcp', tcp: { localPort: 1 }, udp: { localPort: 1 } }, 400, /^exactly one proxy type block is required$/],
    ['no block', { name: 'x', type: 'tcp' }, 400, /^exactly one proxy type block is required$/],
    ['type mismatch', { name: 'x', type: 'tcp', udp: { localPort: 1 } }, 400, /^proxy type block "udp" does not match type "tcp"$/],
    ['unknown top-level key', { name: 'x', type: 'tcp', tcp: { localPort: 1 }, enabled: true }, 400, /^enabled: unknown key/],
    ['unknown key in the block', tcpDef('x', echo.port, 0, { bogusKey: 1 }), 400, /^validation error: tcp\.bogusKey: /],
    ['a key of another type', tcpDef('x', echo.port, 0, { customDomains: ['a.test'] }), 400, /^validation error: tcp\.customDomains: /],
    ['a wrong value', tcpDef('x', echo.port, 0, { remotePort: 'twenty' }), 400, /^validation error: tcp\.remotePort: /],
    ['no local port', { name: 'x', type: 'tcp', tcp: { localIP: '127.0.0.1' } }, 400, /^validation error: tcp\.localPort: required/],
    ['a file proxy’s name', tcpDef('file-tcp', echo.port, 0), 409, /^conflict: proxy "file-tcp" is defined in the config file/],
    ['a visitor without its server', { name: 'v', type: 'stcp', stcp: { bindPort: 1 } }, 400, /serverName/],
  ];
  for (const [what, body, status, msg] of cases) {
    const path = what === 'a visitor without its server' ? '/api/store/visitors' : '/api/store/proxies';
    const a = await call(admin.port, 'POST', path, body);
    assert.equal(a.status, status, `${what}: ${a.text}`);
    const b = a.body as { Code: number; Msg: string };
    assert.equal(b.Code, status, what);
    assert.match(b.Msg, msg, what);
  }

  // Too large: refused before it is read whole.
  const big = await call(admin.port, 'POST', '/api/store/proxies', tcpDef('big', echo.port, 0, { metadatas: { pad: 'x'.repeat(MAX_STORE_BODY_BYTES) } }));
  assert.equal(big.status, 413);
  // A form post (what another site's page can send without asking) is refused.
  const form = await call(admin.port, 'POST', '/api/store/proxies', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415);
  assert.equal((await call(admin.port, 'POST', '/api/store/proxies', '{"name":"x"}', { 'content-type': 'text/plain' })).status, 415);
  // A browser marking the request as cross-site is refused, as on every mutating route.
  const cross = await call(admin.port, 'POST', '/api/store/proxies', tcpDef('x', echo.port, 0), { 'sec-fetch-site': 'cross-site' });
  assert.equal(cross.status, 403);

  // A name already in the store.
  assert.equal((await call(admin.port, 'POST', '/api/store/proxies', tcpDef('dup', echo.port, 0))).status, 200);
  const dup = await call(admin.port, 'POST', '/api/store/proxies', tcpDef('dup', echo.port, 0));
  assert.deepEqual(dup.body, { Code: 409, Msg: 'conflict: already exists: proxy "dup"' });
  // A bad update leaves the stored entry as it was.
  const badUpdate = await call(admin.port, 'PUT', '/api/store/proxies/dup', tcpDef('dup', echo.port, 0, { bogusKey: 1 }));
  assert.equal(badUpdate.status, 400);
  assert.deepEqual(
    (JSON.parse(readFileSync(path, 'utf8')) as { proxies: Array<{ name: string }> }).proxies.map((p) => p.name),
    ['dup'],
  );
  await client.waitForProxy('dup');

  assert.ok(await stillOpen(open));
  assert.ok(await carries(filePort));
  assert.equal(server.clients.length, 1);
});

test('a bad store file stops the client at start, naming the file and the key', (t) => {
  const dir = storeDir(t);
  const path = join(dir, 'store.json');
  const { makeClient } = tunnelKit(t);
  writeFileSync(path, JSON.stringify({ proxies: [{ name: 'p', type: 'tcp', localPort: 1, remotPort: 2 }] }));
  assert.throws(
    () => makeClient(1, { extra: { store: { path } } }),
    (err: unknown) => isBurrowError(err, 'BURROW_CONFIG_INVALID') && err.message.includes(path) && /proxies\[0\]\.remotPort/.test(err.message),
  );
  writeFileSync(path, '{"proxies": [');
  assert.throws(() => makeClient(1, { extra: { store: { path } } }), /not JSON/);
  writeFileSync(path, JSON.stringify({ proxies: [], extra: 1 }));
  assert.throws(() => makeClient(1, { extra: { store: { path } } }), /extra: unknown key/);
});
