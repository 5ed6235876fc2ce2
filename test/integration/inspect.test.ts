import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { silentLogger } from '../../src/util/logger.js';
import { vhostRequest } from '../helpers/http.js';
import { freePort, makeClient, startServer } from '../helpers/tunnel.js';

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** A webhook receiver: records what reached it; /gzip answers compressed bytes. */
async function startWebhook(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (req.url === '/gzip') {
        res.setHeader('content-encoding', 'gzip');
        res.end(gzipSync('compressed answer'));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ got: body.length, url: req.url }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

// biome-ignore lint/suspicious/noExplicitAny: the inspector's JSON is read field by field in assertions
type Json = Record<string, any>;
const JSON_TYPE = { 'content-type': 'application/json' };

/** Reads server-sent events until `want` events of type `type` arrived. */
function collectEvents(url: string, type: string, want: number): { done: Promise<Json[]>; ready: Promise<void> } {
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<Json[]>((resolve, reject) => {
    const req = request(url, (res) => {
      const events: Json[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        if (buf.startsWith('retry:')) ready();
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev === type && data) events.push(JSON.parse(data) as Json);
          if (events.length === want) {
            req.destroy();
            resolve(events);
          }
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  return { done, ready: readyP };
}

test('inspector: records exchanges in order, streams them live, replays them, refuses bad replays clearly', async () => {
  const hook = await startWebhook();
  const server = await startServer({ vhostHTTPPort: await freePort() });
  const vhost = server.vhostHttpPort;
  const client = makeClient(server.port, {
    proxies: [
      { name: 'hook', type: 'http', localPort: hook.port, customDomains: ['hook.test'], inspect: true },
      { name: 'quiet', type: 'http', localPort: hook.port, customDomains: ['quiet.test'] },
    ],
    extra: { inspect: { maxBodyBytes: 1024 } },
  });
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${admin.port}${path}`, init);
  try {
    await client.start();
    await client.waitForProxy('hook');
    await client.waitForProxy('quiet');
    const live = collectEvents(`http://127.0.0.1:${admin.port}/api/requests/live`, 'exchange', 3);
    await live.ready;

    const payload = JSON.stringify({ event: 'payment.succeeded', amount: 42 });
    const first = await vhostRequest(vhost, 'hook.test', '/wechat/callback?sig=abc', {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(first.status, 200);
    const big = 'x'.repeat(4096);
    assert.equal((await vhostRequest(vhost, 'hook.test', '/big', { method: 'POST', body: big })).status, 200);
    const gz = await vhostRequest(vhost, 'hook.test', '/gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal((await vhostRequest(vhost, 'quiet.test', '/not-recorded')).status, 200);

    const events = await live.done;
    assert.deepEqual(
      events.map((e) => e.target),
      ['/wechat/callback?sig=abc', '/big', '/gzip'],
    );

    const list = (await (await api('/api/requests')).json()) as { requests: Json[] };
    assert.deepEqual(
      list.requests.map((r) => r.target),
      ['/gzip', '/big', '/wechat/callback?sig=abc'],
      'newest first; the quiet proxy records nothing',
    );
    const summary = list.requests[2]!;
    assert.equal(summary.method, 'POST');
    assert.equal(summary.status, 200);
    assert.equal(summary.host, 'hook.test');
    assert.equal(summary.proxy, 'hook');
    assert.match(summary.visitor, /^127\.0\.0\.1:\d+$/);

    const detail = (await (await api(`/api/requests/${summary.id}`)).json()) as Json;
    assert.equal(detail.request.body.text, payload);
    assert.equal(detail.request.body.truncated, false);
    const headerNames = (detail.request.headers as Array<[string, string]>).map(([n]) => n.toLowerCase());
    assert.ok(headerNames.includes('x-forwarded-for'), 'the head as the local service saw it, with what the server added');
    assert.deepEqual(JSON.parse(detail.response.body.text), { got: payload.length, url: '/wechat/callback?sig=abc' });

    const bigDetail = (await (await api(`/api/requests/${list.requests[1]!.id}`)).json()) as Json;
    assert.equal(bigDetail.request.body.size, 4096);
    assert.equal(bigDetail.request.body.truncated, true);
    assert.equal(Buffer.from(bigDetail.request.body.base64, 'base64').length, 1024);
    const gzDetail = (await (await api(`/api/requests/${list.requests[0]!.id}`)).json()) as Json;
    assert.equal(gzDetail.response.body.text, undefined, 'compressed bodies are bytes, not text');
    assert.deepEqual(Buffer.from(gzDetail.response.body.base64, 'base64'), gzipSync('compressed answer'));

    // Replay as recorded: the local service sees the same request again, and the new exchange is recorded.
    const before = hook.seen.length;
    const replay = await api(`/api/requests/${summary.id}/replay`, { method: 'POST', headers: JSON_TYPE });
    assert.equal(replay.status, 200);
    const replayed = (await replay.json()) as Json;
    assert.equal(hook.seen.length, before + 1);
    assert.deepEqual(hook.seen.at(-1), { method: 'POST', url: '/wechat/callback?sig=abc', body: payload });
    assert.equal(replayed.replayOf, summary.id);
    assert.equal(replayed.response.status, 200);
    assert.ok(replayed.id > list.requests[0]!.id);

    // Edited replay.
    const edited = await api(`/api/requests/${summary.id}/replay`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ target: '/wechat/retry', body: '{"edited":true}' }),
    });
    assert.equal(edited.status, 200);
    assert.deepEqual(hook.seen.at(-1), { method: 'POST', url: '/wechat/retry', body: '{"edited":true}' });
    assert.equal(((await (await api('/api/requests')).json()) as { requests: Json[] }).requests[0]!.target, '/wechat/retry');

    // Bad replays: each a clear error, nothing sent.
    const sent = hook.seen.length;
    const truncated = await api(`/api/requests/${list.requests[1]!.id}/replay`, { method: 'POST', headers: JSON_TYPE });
    assert.equal(truncated.status, 400);
    assert.match(((await truncated.json()) as Json).Msg, /cut at 1024 of 4096 bytes/);
    const badField = await api(`/api/requests/${summary.id}/replay`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ methd: 'GET' }) });
    assert.equal(badField.status, 400);
    assert.match(((await badField.json()) as Json).Msg, /unknown replay field "methd"/);
    const badHeader = await api(`/api/requests/${summary.id}/replay`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ headers: [['X-Bad', 'a\r\nInjected: 1']] }),
    });
    assert.equal(badHeader.status, 400);
    assert.match(((await badHeader.json()) as Json).Msg, /control character/);
    const smuggled = await api(`/api/requests/${summary.id}/replay`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ target: '/x\u0120HTTP/1.1\u010d\u010aX-Injected:1' }),
    });
    assert.equal(smuggled.status, 400, 'characters past U+00FF would lose their high byte on the wire');
    const wideValue = await api(`/api/requests/${summary.id}/replay`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ headers: [['X-A', 'a\u010d\u010aX-Evil: 2']] }),
    });
    assert.equal(wideValue.status, 400);
    assert.match(((await wideValue.json()) as Json).Msg, /past U\+00FF/);
    assert.equal((await api('/api/requests/999999/replay', { method: 'POST', headers: JSON_TYPE })).status, 404);
    // A cross-site form cannot replay: JSON only (a preflight this API never grants).
    const form = await api(`/api/requests/${summary.id}/replay`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(form.status, 415);
    // A page whose name was rebound to 127.0.0.1 cannot read captured requests.
    const rebound = await vhostRequest(admin.port, 'attacker.example:80', '/api/requests');
    assert.equal(rebound.status, 403);
    assert.equal(hook.seen.length, sent);

    // The local service is down: a clear 502, and the client keeps serving.
    await new Promise<void>((resolve) => hook.server.close(() => resolve()));
    hook.server.closeAllConnections();
    const down = await api(`/api/requests/${summary.id}/replay`, { method: 'POST', headers: JSON_TYPE });
    assert.equal(down.status, 502);
    assert.match(((await down.json()) as Json).Msg, new RegExp(`cannot reach the local service 127\\.0\\.0\\.1:${hook.port}`));

    assert.equal((await api('/api/requests', { method: 'DELETE' })).status, 200);
    assert.deepEqual(((await (await api('/api/requests')).json()) as { requests: Json[] }).requests, []);
  } finally {
    client.stop();
    await admin.close();
    await server.stop();
    hook.server.close();
  }
});
