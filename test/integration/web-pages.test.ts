import type { BurrowClient } from '../../src/client/client.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { silentLogger } from '../../src/util/logger.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/browser.js';
import { vhostRequest } from '../helpers/http.js';
import { echoThrough, freePort, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor } from '../helpers/tunnel.js';

const CREDENTIALS = { username: 'admin', password: 'pages-s3cret' };

/** The client's admin page on a port the OS picks, behind the test's credentials. */
function adminWithCredentials(client: BurrowClient): ReturnType<typeof startClientAdmin> {
  return startClientAdmin({
    client,
    addr: '127.0.0.1',
    port: 0,
    user: CREDENTIALS.username,
    password: CREDENTIALS.password,
    logger: silentLogger,
    stop: () => {},
  });
}

test('dashboard and admin pages render the live tunnel list in headless Chromium', { skip: NO_CHROMIUM }, async () => {
  const echo = await startEcho();
  const server = await startServer();
  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: CREDENTIALS.username,
    password: CREDENTIALS.password,
    enablePrometheus: false,
    logger: silentLogger,
  });
  const client = makeClient(server.port, {
    // 'game' asks for the server's own port, so the page has a refused proxy to show.
    proxies: [tcpProxy('ssh', echo.port), tcpProxy('game', echo.port, { remotePort: server.port })],
    extra: { user: 'alice' },
  });
  const admin = await adminWithCredentials(client);
  const chromium = await launchChromium();
  try {
    await client.start();
    await client.waitForProxy('ssh');
    await client.waitForProxy('game').catch(() => {});
    const port = portOf(client.status('ssh')!.remoteAddr);
    const context = await chromium.browser.newContext({ httpCredentials: CREDENTIALS });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });

    // Server dashboard: the proxy row appears online with its user and port,
    // then its byte counters move once traffic flows through the tunnel.
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    const row = page.locator('#proxies tr[data-proxy="alice.ssh"]');
    await row.locator('.pill.ok').waitFor();
    assert.equal(await row.locator('td').nth(1).textContent(), 'tcp');
    assert.equal(await row.locator('td').nth(3).textContent(), 'alice');
    assert.equal(await row.locator('td').nth(4).textContent(), `:${port}`);
    const data = patternBytes(256 * 1024);
    assert.ok((await echoThrough(port, data)).equals(data));
    await page.waitForFunction(
      (n) => Number(document.querySelector('#proxies tr[data-proxy="alice.ssh"] [data-field="out"]')?.getAttribute('data-bytes')) >= n,
      data.length,
    );
    assert.equal(await row.locator('[data-field="out"]').textContent(), '256 KiB');
    assert.equal(await row.locator('svg.spark').count(), 1);
    const clientRow = page.locator('#clients tbody tr').first();
    assert.equal(await clientRow.locator('td').nth(1).textContent(), 'alice');
    assert.equal(await clientRow.locator('.pill').textContent(), 'online');
    assert.equal(await page.locator('[data-card="clients"] .value').textContent(), '1');

    // Client admin page: the session state and each proxy with its status and error.
    await page.goto(`http://127.0.0.1:${admin.port}/`);
    const ssh = page.locator('#proxies tr[data-proxy="ssh"]');
    await ssh.locator('.pill.ok').waitFor();
    assert.equal(await ssh.locator('.pill').textContent(), 'running');
    assert.equal(await ssh.locator('td').nth(3).textContent(), `127.0.0.1:${echo.port}`);
    assert.equal(await ssh.locator('td').nth(4).textContent(), `127.0.0.1:${port}`);
    assert.equal(await page.locator('[data-card="state"] .pill').textContent(), 'online');
    assert.equal(await page.locator('[data-card="attempts"] .value').textContent(), '0');
    const game = page.locator('#proxies tr[data-proxy="game"]');
    assert.equal(await game.locator('.pill').textContent(), 'start error');
    assert.match((await game.locator('td.err').textContent()) ?? '', /already in use/);

    // The page follows the session: when the server goes away it says so.
    await server.stop();
    await page.locator('[data-card="state"] .pill', { hasText: 'reconnecting' }).waitFor();
    assert.deepEqual(pageErrors, []);

    // Without credentials the page itself is refused.
    const frpBookmark = await fetch(`http://127.0.0.1:${dashboard.port}/static/`, {
      redirect: 'manual',
      headers: { authorization: `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString('base64')}` },
    });
    assert.equal(frpBookmark.status, 302);
    assert.equal(frpBookmark.headers.get('location'), '/');
    const refused = await fetch(`http://127.0.0.1:${admin.port}/`);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="Restricted"');
  } finally {
    await chromium.close();
    await client.stop();
    await admin.close();
    await dashboard.close();
    await server.stop();
    await echo.close();
  }
});

test('the inspector page lists requests live, shows bodies readably, and replays them in headless Chromium', { skip: NO_CHROMIUM }, async () => {
  const seen: string[] = [];
  const hook = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      if (req.url === '/image') {
        res.setHeader('content-type', 'image/png');
        res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, seen: seen.length }));
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  const hookPort = (hook.address() as AddressInfo).port;
  const server = await startServer({ vhostHTTPPort: await freePort() });
  const client = makeClient(server.port, { proxies: [{ name: 'hook', type: 'http', localPort: hookPort, customDomains: ['hook.test'], inspect: true }] });
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  const chromium = await launchChromium();
  try {
    await client.start();
    await client.waitForProxy('hook');
    const page = await chromium.browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${admin.port}/#inspect`);
    await page.locator('#requests').waitFor();

    // Requests made after the page opened arrive over the live stream.
    const vhost = server.vhostHttpPort;
    await vhostRequest(vhost, 'hook.test', '/wechat/notify', {
      method: 'POST',
      body: '{"order":17,"paid":true}',
      headers: { 'content-type': 'application/json' },
    });
    await vhostRequest(vhost, 'hook.test', '/form', {
      method: 'POST',
      body: 'name=ada&lang=zh',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await vhostRequest(vhost, 'hook.test', '/image');
    const rows = page.locator('#requests tbody tr[data-id]');
    await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr[data-id]').length === 3);
    assert.deepEqual(await rows.locator('td.path').allTextContents(), ['/image', '/form', '/wechat/notify']);

    // A JSON body is shown pretty-printed.
    await rows.nth(2).click();
    const requestBody = page.locator('[data-pane="request"] pre[data-body="json"]');
    await requestBody.waitFor();
    assert.equal(await requestBody.textContent(), JSON.stringify({ order: 17, paid: true }, null, 2));
    assert.match((await page.locator('[data-pane="response"] .start-line').textContent()) ?? '', /200/);

    // Replay as recorded: the new response appears beside the original and the service got it again.
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.locator('[data-pane="replay"]').waitFor();
    assert.equal(seen.at(-1), 'POST /wechat/notify {"order":17,"paid":true}');
    assert.match((await page.locator('[data-pane="replay"] h4').textContent()) ?? '', /^Replay #4/);
    assert.equal(await page.locator('[data-pair="responses"].side-by-side').count(), 1);

    // Edited replay.
    await page.getByRole('button', { name: 'Edit & replay' }).click();
    await page.getByLabel('body').fill('{"order":18}');
    await page.getByLabel('target').fill('/wechat/notify?retry=1');
    await page.getByRole('button', { name: 'Send replay' }).click();
    await page.waitForFunction(() => document.querySelector('[data-pane="replay"] h4')?.textContent?.startsWith('Replay #5'));
    assert.equal(seen.at(-1), 'POST /wechat/notify?retry=1 {"order":18}');

    // A form body is a table; a binary body is a size and a hex dump.
    await page.locator('#requests tbody tr[data-id]', { hasText: '/form' }).click();
    await page.locator('[data-pane="request"] table[data-body="form"]').waitFor();
    assert.deepEqual(await page.locator('[data-pane="request"] table[data-body="form"] td').allTextContents(), ['name', 'ada', 'lang', 'zh']);
    await page.locator('#requests tbody tr[data-id]', { hasText: '/image' }).click();
    const binary = page.locator('[data-pane="response"] [data-body="binary"]');
    await binary.waitFor();
    assert.match((await binary.textContent()) ?? '', /10 B, binary/);
    assert.match((await page.locator('[data-pane="response"] pre.hex').textContent()) ?? '', /^000000 {2}89 50 4e 47 0d 0a 1a 0a 00 ff/);

    // The local service is down: the page says why the replay failed.
    await new Promise<void>((resolve) => {
      hook.close(() => resolve());
      hook.closeAllConnections();
    });
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    const alert = page.locator('.replay-error');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', new RegExp(`Replay failed: cannot reach the local service 127\\.0\\.0\\.1:${hookPort}`));

    // Clear empties the list.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr[data-id]').length === 0);
    assert.deepEqual(pageErrors, []);
  } finally {
    await chromium.close();
    client.stop();
    await admin.close();
    await server.stop();
    hook.close();
  }
});

test('the admin page adds, changes and removes a stored tunnel in headless Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-store-page-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const echo = await startEcho();
  const server = await startServer();
  const client = makeClient(server.port, { proxies: [tcpProxy('from-file', echo.port)], extra: { store: { path: join(dir, 'store.json') } } });
  const admin = await adminWithCredentials(client);
  const chromium = await launchChromium();
  try {
    await client.start();
    const filePort = portOf((await client.waitForProxy('from-file')).remoteAddr);
    const context = await chromium.browser.newContext({ httpCredentials: CREDENTIALS });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${admin.port}/`);
    await page.locator('#stored td.empty').waitFor();

    // Add: the editor starts from a tcp template; the new tunnel runs and carries bytes.
    const [port1, port2] = [await freePort(), await freePort()];
    await page.getByRole('button', { name: 'New proxy' }).click();
    const template = JSON.parse(await page.getByLabel('definition').inputValue()) as { tcp: Record<string, unknown> };
    assert.equal(template.tcp.localIP, '127.0.0.1');
    await page
      .getByLabel('definition')
      .fill(JSON.stringify({ name: 'web-tcp', type: 'tcp', tcp: { localIP: '127.0.0.1', localPort: echo.port, remotePort: port1 } }));
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#stored tr[data-stored="web-tcp"]').waitFor();
    await page.locator('#proxies tr[data-proxy="web-tcp"] .pill.ok').waitFor();
    const data = patternBytes(128 * 1024);
    assert.ok((await echoThrough(port1, data)).equals(data));

    // A mistake is answered in the page, naming the key; nothing changes.
    await page.getByRole('button', { name: 'New proxy' }).click();
    await page.getByLabel('definition').fill(JSON.stringify({ name: 'typo', type: 'tcp', tcp: { localPort: echo.port, remotPort: 1 } }));
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#store-error', { hasText: 'tcp.remotPort' }).waitFor();
    assert.match((await page.locator('#store-error').textContent()) ?? '', /^validation error: tcp\.remotPort: /);
    await page.getByRole('button', { name: 'Cancel' }).click();

    // Change: the stored entry comes back into the editor; a new port replaces the old.
    await page.getByRole('button', { name: 'Change web-tcp' }).click();
    await page.locator('#store-editor-title', { hasText: 'Change proxy web-tcp' }).waitFor();
    const current = JSON.parse(await page.getByLabel('definition').inputValue()) as { tcp: Record<string, unknown> };
    assert.equal(current.tcp.remotePort, port1);
    current.tcp.remotePort = port2;
    await page.getByLabel('definition').fill(JSON.stringify(current));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#store-editor').waitFor({ state: 'hidden' });
    await client.waitForProxy('web-tcp');
    assert.ok((await echoThrough(port2, data)).equals(data));

    // Remove: the row goes, the port closes; the file's tunnel served throughout.
    await page.getByRole('button', { name: 'Remove web-tcp' }).click();
    await page.locator('#stored td.empty').waitFor();
    assert.equal(client.status('web-tcp'), undefined);
    await waitFor(() => server.findProxy('web-tcp') === undefined, 'the server to close "web-tcp"');
    assert.ok((await echoThrough(filePort, data)).equals(data));
    assert.deepEqual(pageErrors, []);
  } finally {
    await chromium.close();
    client.stop();
    await admin.close();
    await server.stop();
    await echo.close();
  }
});
