import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { loadClientConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/logger.js';
import { vhostRequest } from '../helpers/http.js';
import { startEcho, startServer, TOKEN, waitFor } from '../helpers/tunnel.js';

const EVIL = 'http://evil.example';
/** What a current browser sends for `<img src=".../api/reload">` on another site. */
const IMG_FROM_OTHER_SITE = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', referer: `${EVIL}/` };
/** What it sends for `fetch(url, { method: 'POST', mode: 'no-cors' })` from another site. */
const POST_FROM_OTHER_SITE = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', origin: EVIL };

async function clientWithAdmin(user = '', password = '') {
  const echo = await startEcho();
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'burrow-cross-site-'));
  const file = join(dir, 'frpc.toml');
  const base =
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "${TOKEN}"\nwebServer.password = "pw-in-file"\n\n` +
    `[[proxies]]\nname = "ssh"\ntype = "stcp"\nsecretKey = 'sk-in-file'\nlocalPort = ${echo.port}\n\n` +
    `[[proxies]]\nname = "web"\ntype = "http"\nlocalPort = ${echo.port}\ncustomDomains = ["a.example"]\nhttpUser = "u"\nhttpPassword = "http-pw-in-file"\n`;
  writeFileSync(file, base);
  const client = new BurrowClient(loadClientConfig(file), silentLogger);
  let stops = 0;
  const admin = await startClientAdmin({
    client,
    configFile: file,
    addr: '127.0.0.1',
    port: 0,
    user,
    password,
    logger: silentLogger,
    stop: () => (stops += 1),
  });
  await client.start();
  const host = `127.0.0.1:${admin.port}`;
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    vhostRequest(admin.port, host, path, { method, headers, ...(body !== undefined ? { body } : {}) });
  return {
    file,
    base,
    client,
    host,
    call,
    get stops() {
      return stops;
    },
    async close() {
      client.stop();
      await admin.close();
      await server.stop();
      await echo.close();
    },
  };
}

test('client admin: a page on another site can neither stop nor reload the client', async () => {
  const t = await clientWithAdmin();
  try {
    const stop = await t.call('POST', '/api/stop', POST_FROM_OTHER_SITE);
    assert.equal(stop.status, 403);
    assert.match(JSON.parse(stop.body.toString()).Msg, /another web site \(Sec-Fetch-Site is "cross-site"\)/);
    // An older browser sends only Origin; an opaque one ("null", sandboxed frames) is not ours either.
    assert.equal((await t.call('POST', '/api/stop', { origin: EVIL })).status, 403);
    assert.equal((await t.call('POST', '/api/stop', { origin: 'null' })).status, 403);
    assert.equal((await t.call('POST', '/api/stop', { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' })).status, 403);

    writeFileSync(t.file, t.base + `\n[[proxies]]\nname = "added"\ntype = "tcp"\nlocalPort = 1\n`);
    assert.equal((await t.call('GET', '/api/reload', IMG_FROM_OTHER_SITE)).status, 403);
    // An older browser loading an image sends only the Referer.
    assert.equal((await t.call('GET', '/api/reload', { referer: `${EVIL}/page` })).status, 403);
    assert.equal(t.client.status('added'), undefined, 'nothing was reloaded');
    // A cross-site DELETE and replay are refused too (a preflight is never granted, but the check does not rely on it).
    assert.equal((await t.call('DELETE', '/api/requests', POST_FROM_OTHER_SITE)).status, 403);
    assert.equal(t.stops, 0, 'the client was never stopped');

    // Our own page (same origin), the address bar, and tools (no browser headers) still work.
    const reload = await t.call('GET', '/api/reload', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' });
    assert.equal(reload.status, 200);
    assert.deepEqual(JSON.parse(reload.body.toString()).added, ['added']);
    assert.equal((await t.call('GET', '/api/reload', { 'sec-fetch-mode': 'cors' })).status, 200, 'Node fetch, as `burrow client reload` sends');
    assert.equal((await t.call('DELETE', '/api/requests', { origin: `http://${t.host}`, 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal((await t.call('POST', '/api/stop', { origin: `http://${t.host}`, referer: `http://${t.host}/` })).status, 200);
    assert.equal((await t.call('POST', '/api/stop')).status, 200);
    // The stop itself runs just after the answer is sent.
    await waitFor(() => t.stops === 2, 'both accepted stops');
  } finally {
    await t.close();
  }
});

test('client admin: PUT /api/config refuses form encodings and takes text', async () => {
  const t = await clientWithAdmin();
  try {
    const next = t.base + '\n# edited\n';
    const form = await t.call('PUT', '/api/config', { 'content-type': 'application/x-www-form-urlencoded' }, next);
    assert.equal(form.status, 415);
    assert.match(JSON.parse(form.body.toString()).Msg, /Content-Type text\/plain/);
    assert.equal((await t.call('PUT', '/api/config', { 'content-type': 'multipart/form-data; boundary=x' }, next)).status, 415);
    assert.equal(readFileSync(t.file, 'utf8'), t.base, 'the file is unchanged');
    assert.equal((await t.call('PUT', '/api/config', { 'content-type': 'text/plain; charset=utf-8' }, next)).status, 200);
    assert.equal(readFileSync(t.file, 'utf8'), next);
    assert.equal((await t.call('PUT', '/api/config', { 'content-type': 'application/toml' }, t.base)).status, 200);
    assert.equal(readFileSync(t.file, 'utf8'), t.base);
  } finally {
    await t.close();
  }
});

test('client admin without a password: GET /api/config hides tokens, secret keys and passwords', async () => {
  const t = await clientWithAdmin();
  try {
    const res = await t.call('GET', '/api/config');
    assert.equal(res.status, 200);
    const text = res.body.toString();
    for (const secret of [TOKEN, 'pw-in-file', 'sk-in-file', 'http-pw-in-file']) assert.ok(!text.includes(secret), `${secret} is hidden`);
    assert.match(text, /auth\.token = "<redacted>"/);
    assert.match(text, /secretKey = "<redacted>"/);
    assert.match(text, /httpUser = "u"/, 'what is not secret is shown as written');
    assert.match(String(res.headers['x-burrow-redacted']), /webServer\.user and webServer\.password/);
    // Sending the redacted text back would overwrite every secret with the placeholder.
    const back = await t.call('PUT', '/api/config', { 'content-type': 'text/plain' }, text);
    assert.equal(back.status, 400);
    assert.equal(readFileSync(t.file, 'utf8'), t.base);
  } finally {
    await t.close();
  }
});

test('client admin with a password: GET /api/config shows the full file', async () => {
  const t = await clientWithAdmin('admin', 's3cret');
  try {
    const res = await t.call('GET', '/api/config', { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), t.base);
    assert.equal(res.headers['x-burrow-redacted'], undefined);
  } finally {
    await t.close();
  }
});

test('server dashboard: clearing offline proxies is refused from another site', async () => {
  const server = await startServer();
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: '', password: '', enablePrometheus: false, logger: silentLogger });
  const host = `127.0.0.1:${dashboard.port}`;
  try {
    const refused = await vhostRequest(dashboard.port, host, '/api/proxies?status=offline', { method: 'DELETE', headers: POST_FROM_OTHER_SITE });
    assert.equal(refused.status, 403);
    const own = await vhostRequest(dashboard.port, host, '/api/proxies?status=offline', {
      method: 'DELETE',
      headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(own.status, 200);
    // Reading stays open to our page and tools; a browser cannot read another site's answer anyway.
    assert.equal((await vhostRequest(dashboard.port, host, '/api/serverinfo', { headers: { 'sec-fetch-site': 'same-origin' } })).status, 200);
  } finally {
    await dashboard.close();
    await server.stop();
  }
});
