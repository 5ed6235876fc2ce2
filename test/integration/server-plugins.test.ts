import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { loadOrCreateServerCertificate } from '../../src/transport/generated-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { type RawServerConfig, visitor } from '../helpers/config.js';
import { captureLog, echoThrough, freePort, patternBytes, portOf, tcpProxy, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/** One request a plugin server received. */
interface PluginCall {
  path: string;
  query: string;
  reqId: string | undefined;
  contentType: string | undefined;
  body: { version: string; op: string; content: Record<string, unknown> };
}

/** What the test's plugin answers: a JSON value, or raw text with a status, or nothing at all (hangs). */
type Answer = { json: unknown } | { status: number; text: string; chunked?: boolean } | 'hang';

interface PluginServer {
  /** `127.0.0.1:port` (or `https://…` for a TLS one), as httpPlugins.addr takes it */
  addr: string;
  calls: PluginCall[];
  /** resolves with the first call (already received or still to come) for `op` that matches */
  waitForCall(op: string, match?: (c: PluginCall) => boolean): Promise<PluginCall>;
}

/** A real plugin HTTP(S) server on 127.0.0.1, port 0, recording every request and answering through `answer`. */
async function startPlugin(t: TestContext, answer: (call: PluginCall) => Answer, tls = false): Promise<PluginServer> {
  const calls: PluginCall[] = [];
  const hanging = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://plugin');
      const call: PluginCall = {
        path: url.pathname,
        query: url.search,
        reqId: req.headers['x-frp-reqid'] as string | undefined,
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as PluginCall['body'],
      };
      calls.push(call);
      const a = answer(call);
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      if ('json' in a) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(a.json));
      } else if (a.chunked) {
        // No Content-Length: the size is only known by reading.
        res.writeHead(a.status);
        for (let i = 0; i < a.text.length; i += 64 * 1024) res.write(a.text.slice(i, i + 64 * 1024));
        res.end();
      } else {
        res.writeHead(a.status);
        res.end(a.text);
      }
    });
  };
  const cert = tls ? loadOrCreateServerCertificate('') : undefined;
  const server = cert ? createHttpsServer({ cert: cert.cert, key: cert.key }, handler) : createHttpServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  whenDone(t, () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    addr: `${tls ? 'https://' : ''}127.0.0.1:${port}`,
    calls,
    async waitForCall(op, match = () => true) {
      let found: PluginCall | undefined;
      await waitFor(() => (found = calls.find((c) => c.body.op === op && match(c))) !== undefined, `a ${op} request to the plugin`);
      return found!;
    },
  };
}

const UNCHANGED = { json: { reject: false, unchange: true } };

function plugins(...list: Array<{ name: string; addr: string; path?: string; ops: string[]; tlsVerify?: boolean }>): RawServerConfig {
  return { httpPlugins: list.map((p) => ({ path: '/handler', ...p })) } as RawServerConfig;
}

describe('server plugins (httpPlugins)', () => {
  test('Login: a rejection reaches the client with its reason; an admitted login goes on; the request is frp-shaped', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const plugin = await startPlugin(t, (c) => {
      const metas = (c.body.content.metas ?? {}) as Record<string, string>;
      return metas.token === '123' ? UNCHANGED : { json: { reject: true, reject_reason: 'invalid token' } };
    });
    const log = captureLog();
    const server = await startServer(plugins({ name: 'user-manager', addr: plugin.addr, ops: ['Login'] }), log.logger);

    const good = makeClient(server.port, { proxies: [tcpProxy('tcp', echo.port)], extra: { metadatas: { token: '123' } } });
    await good.start();
    const running = await good.waitForProxy('tcp');
    const data = patternBytes(1000, 1);
    assert.ok((await echoThrough(portOf(running.remoteAddr), data)).equals(data));

    const bad = makeClient(server.port, { proxies: [tcpProxy('tcp2', echo.port)] });
    await assert.rejects(bad.start(), (err: unknown) => {
      assert.ok(isBurrowError(err, 'BURROW_LOGIN_FAILED'));
      assert.match(err.message, /invalid token/);
      return true;
    });
    assert.equal(server.clients.length, 1);
    await log.waitForLine(/login refused: server plugin/);

    const first = plugin.calls[0]!;
    assert.equal(first.path, '/handler');
    assert.equal(first.query, '?op=Login&version=0.1.0');
    assert.equal(first.contentType, 'application/json');
    assert.match(first.reqId ?? '', /^[0-9a-f]{16}$/);
    assert.equal(first.body.version, '0.1.0');
    assert.equal(first.body.op, 'Login');
    assert.match(String(first.body.content.client_address), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof first.body.content.privilege_key, 'string');
    assert.equal(plugin.calls.length, 2);
    assert.notEqual(plugin.calls[1]!.reqId, first.reqId, 'one request id per operation');
  });

  test('Login: content changed by the plugin is what the server logs in', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const plugin = await startPlugin(t, (c) => ({ json: { unchange: false, content: { ...c.body.content, user: 'renamed', metas: { team: 'blue' } } } }));
    const server = await startServer(plugins({ name: 'rename', addr: plugin.addr, ops: ['Login'] }));
    const client = makeClient(server.port, { extra: { user: 'alice' } });
    await client.start();
    await waitFor(() => server.clients.length === 1, 'the client to be logged in');
    assert.equal(server.clients[0]!.user, 'renamed');
    assert.deepEqual(server.clients[0]!.metas, { team: 'blue' });
    assert.equal(plugin.calls[0]!.body.content.user, 'alice');
  });

  test('NewProxy: a rejection refuses that proxy with the reason; the others run', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const plugin = await startPlugin(t, (c) => {
      const name = c.body.content.proxy_name;
      if (name === 'good') return UNCHANGED;
      // A reason longer than a frame can carry is cut, not a crash.
      return { json: { reject: true, reject_reason: name === 'long' ? 'x'.repeat(20_000) : 'proxy not allowed here' } };
    });
    const server = await startServer(plugins({ name: 'p', addr: plugin.addr, ops: ['NewProxy'] }));
    const client = makeClient(server.port, { proxies: [tcpProxy('good', echo.port), tcpProxy('bad', echo.port), tcpProxy('long', echo.port)] });
    await client.start();
    const good = await client.waitForProxy('good');
    await assert.rejects(client.waitForProxy('bad'), /proxy not allowed here/);
    await assert.rejects(client.waitForProxy('long'), /^Error: x{1024}…\(18976 more\)$|x{1024}…\(18976 more\)/);
    const data = patternBytes(2000, 2);
    assert.ok((await echoThrough(portOf(good.remoteAddr), data)).equals(data));
    const call = await plugin.waitForCall('NewProxy', (c) => c.body.content.proxy_name === 'bad');
    assert.equal(call.body.content.proxy_type, 'tcp');
    const user = call.body.content.user as Record<string, unknown>;
    assert.equal(user.run_id, server.clients[0]!.runId);
    assert.deepEqual(user.metas, {});
  });

  test('NewProxy: a changed remote_port moves the proxy, and the client is told the new address', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    let moved = 0;
    // Two plugins in order: the second sees what the first returned.
    const first = await startPlugin(t, (c) => ({ json: { content: { ...c.body.content, remote_port: moved } } }));
    const second = await startPlugin(t, () => UNCHANGED);
    const server = await startServer(
      plugins({ name: 'mover', addr: first.addr, ops: ['NewProxy'] }, { name: 'watcher', addr: second.addr, ops: ['NewProxy'] }),
    );
    let running: Awaited<ReturnType<ReturnType<typeof makeClient>['waitForProxy']>> | undefined;
    for (let attempt = 1; running === undefined; attempt++) {
      // The plugin names a port the test cannot hold open for the server: another test may take it
      // between freePort() and the server's bind, so that one case starts over with another port.
      moved = await freePort();
      const client = makeClient(server.port, { proxies: [tcpProxy('tcp', echo.port, { remotePort: 0 })] });
      await client.start();
      try {
        running = await client.waitForProxy('tcp');
      } catch (err) {
        client.stop();
        if (attempt >= 3 || !/is already in use/.test(String(err))) throw err;
      }
    }
    assert.equal(portOf(running.remoteAddr), moved);
    const data = patternBytes(3000, 3);
    assert.ok((await echoThrough(moved, data)).equals(data));
    const seen = await second.waitForCall('NewProxy', (c) => c.body.content.remote_port === moved);
    assert.equal(seen.reqId, first.calls.at(-1)!.reqId, 'the plugins of one operation share its request id');
  });

  test('Ping, NewWorkConn, NewUserConn and CloseProxy reach the plugin with their content', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const plugin = await startPlugin(t, () => UNCHANGED);
    const server = await startServer({
      ...plugins({ name: 'all', addr: plugin.addr, ops: ['Ping', 'NewWorkConn', 'NewUserConn', 'CloseProxy'] }),
      auth: { additionalScopes: ['HeartBeats'] },
    });
    const client = makeClient(server.port, {
      proxies: [tcpProxy('tcp', echo.port)],
      extra: { auth: { additionalScopes: ['HeartBeats'] }, transport: { heartbeatInterval: 1 } },
    });
    await client.start();
    const running = await client.waitForProxy('tcp');
    const data = patternBytes(1000, 4);
    assert.ok((await echoThrough(portOf(running.remoteAddr), data)).equals(data));
    const runId = server.clients[0]!.runId;

    const work = await plugin.waitForCall('NewWorkConn');
    assert.equal(work.body.content.run_id, runId);
    assert.equal((work.body.content.user as Record<string, unknown>).run_id, runId);

    const user = await plugin.waitForCall('NewUserConn');
    assert.equal(user.body.content.proxy_name, 'tcp');
    assert.equal(user.body.content.proxy_type, 'tcp');
    assert.match(String(user.body.content.remote_addr), /^127\.0\.0\.1:\d+$/);
    assert.equal((user.body.content.user as Record<string, unknown>).run_id, runId);

    const ping = await plugin.waitForCall('Ping');
    assert.match(String(ping.body.content.privilege_key), /^[0-9a-f]{32}$/);
    assert.equal(typeof ping.body.content.timestamp, 'number');

    client.stop();
    const closed = await plugin.waitForCall('CloseProxy');
    assert.equal(closed.body.content.proxy_name, 'tcp');
    assert.equal((closed.body.content.user as Record<string, unknown>).run_id, runId);
  });

  test('NewUserConn: a rejection closes only that user connection', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    let reject = false;
    const plugin = await startPlugin(t, () => (reject ? { json: { reject: true, reject_reason: 'not today' } } : UNCHANGED));
    const log = captureLog();
    const server = await startServer(plugins({ name: 'gate', addr: plugin.addr, ops: ['NewUserConn'] }), log.logger);
    const client = makeClient(server.port, { proxies: [tcpProxy('tcp', echo.port)] });
    await client.start();
    const port = portOf((await client.waitForProxy('tcp')).remoteAddr);

    // An admitted connection, kept open across the refusal.
    const kept = connect({ host: '127.0.0.1', port });
    await once(kept, 'connect');
    kept.write('first');
    await once(kept, 'data');

    reject = true;
    const refused = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    refused.on('data', (c: Buffer) => got.push(c));
    refused.on('error', () => {});
    refused.write('hello');
    await once(refused, 'close');
    assert.equal(Buffer.concat(got).length, 0, 'the refused connection got nothing');
    await log.waitForLine(/the user conn \[127\.0\.0\.1:\d+\] was rejected, err:not today/);

    kept.write('second');
    const [echoed] = (await once(kept, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'second');
    kept.destroy();
  });

  test('NewUserConn is asked for tcpmux and stcp user connections too, with their type', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const plugin = await startPlugin(t, () => UNCHANGED);
    const server = await startServer({ ...plugins({ name: 'u', addr: plugin.addr, ops: ['NewUserConn'] }), tcpmuxHTTPConnectPort: await freePort() });
    const owner = makeClient(server.port, {
      proxies: [
        { name: 'mux', type: 'tcpmux', multiplexer: 'httpconnect', localPort: echo.port, customDomains: ['db.internal'] },
        { name: 'secret', type: 'stcp', secretKey: 'sk1', localPort: echo.port },
      ],
    });
    await owner.start();
    await owner.waitForProxy('mux');
    await owner.waitForProxy('secret');
    const visitorPort = await freePort();
    const user = makeClient(server.port, { extra: { visitors: [visitor('stcp', 'v', 'secret', 'sk1', visitorPort)] } });
    await user.start();

    // Visitors listen once start() resolves.
    assert.deepEqual(
      user.visitors.map((v) => v.state),
      ['running'],
    );
    const data = patternBytes(700, 6);
    assert.ok((await echoThrough(visitorPort, data)).equals(data), 'the stcp visitor echoes');
    const stcp = await plugin.waitForCall('NewUserConn', (c) => c.body.content.proxy_type === 'stcp');
    assert.equal(stcp.body.content.proxy_name, 'secret');
    assert.match(String(stcp.body.content.remote_addr), /^127\.0\.0\.1:\d+$/);

    const s = connect({ host: '127.0.0.1', port: server.vhostTcpmuxPort });
    s.on('error', () => {});
    s.write('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n');
    const mux = await plugin.waitForCall('NewUserConn', (c) => c.body.content.proxy_type === 'tcpmux');
    assert.equal(mux.body.content.proxy_name, 'mux');
    s.destroy();
  });

  for (const [mode, answer, logged] of [
    ['times out', 'hang', /no answer within 1 s/],
    ['answers 500', { status: 500, text: 'boom' }, /error code: 500/],
    ['answers garbage', { status: 200, text: 'not json{' }, /not valid JSON/],
    ['answers too much', { status: 200, text: `{"reject":false,"unchange":true,"x":"${'a'.repeat(1024 * 1024)}"}` }, /larger than 1048576 bytes/],
    ['streams too much without a length', { status: 200, text: 'a'.repeat(2 * 1024 * 1024), chunked: true }, /larger than 1048576 bytes/],
    ['answers neither unchange nor content', { json: {} }, /neither unchange nor content/],
  ] as Array<[string, Answer, RegExp]>) {
    test(`a plugin that ${mode} refuses the login with frp's text and logs why`, async (t) => {
      const { startServer, makeClient } = tunnelKit(t);
      const plugin = await startPlugin(t, () => answer);
      const log = captureLog();
      const server = await startServer({ ...plugins({ name: 'broken', addr: plugin.addr, ops: ['Login'] }), limits: { pluginTimeout: 1 } }, log.logger);
      const client = makeClient(server.port);
      await assert.rejects(client.start(), /send Login request to plugin error/);
      const line = await log.waitForLine(/send Login request to plugin \[broken\] error/);
      assert.match(line, logged);
      assert.equal(server.clients.length, 0);
    });
  }

  test('an https plugin address works with tlsVerify false (frp default) against a self-signed certificate, and fails with tlsVerify true', async (t) => {
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const plugin = await startPlugin(t, () => UNCHANGED, true);
    const server = await startServer(plugins({ name: 'tls', addr: plugin.addr, ops: ['NewUserConn'] }));
    const client = makeClient(server.port, { proxies: [tcpProxy('tcp', echo.port)] });
    await client.start();
    const data = patternBytes(500, 5);
    assert.ok((await echoThrough(portOf((await client.waitForProxy('tcp')).remoteAddr), data)).equals(data));
    const call = await plugin.waitForCall('NewUserConn');
    assert.match(String(call.body.content.remote_addr), /^127\.0\.0\.1:\d+$/);

    const log = captureLog();
    const strict = await startServer(plugins({ name: 'strict', addr: plugin.addr, ops: ['NewUserConn'], tlsVerify: true }), log.logger);
    const other = makeClient(strict.port, { proxies: [tcpProxy('tcp-strict', echo.port)] });
    await other.start();
    const port = portOf((await other.waitForProxy('tcp-strict')).remoteAddr);
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.write('x');
    await once(socket, 'close');
    const line = await log.waitForLine(/send NewUserConn request to plugin \[strict\] error/);
    assert.match(line, /certificate/);
  });
});
