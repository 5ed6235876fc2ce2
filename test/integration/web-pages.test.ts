import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { silentLogger } from '../../src/util/logger.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/browser.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy } from '../helpers/tunnel.js';

const CREDENTIALS = { username: 'admin', password: 'pages-s3cret' };

test('dashboard and admin pages render the live tunnel list in headless Chromium', { skip: NO_CHROMIUM }, async () => {
  const echo = await startEcho();
  const server = await startServer();
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: CREDENTIALS.username, password: CREDENTIALS.password, enablePrometheus: false, logger: silentLogger });
  const client = makeClient(server.port, {
    proxies: [tcpProxy('ssh', echo.port), { name: 'game', type: 'udp', localPort: echo.port }],
    extra: { user: 'alice' },
  });
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: CREDENTIALS.username, password: CREDENTIALS.password, logger: silentLogger, stop: () => {} });
  const chromium = await launchChromium();
  try {
    await client.start();
    await client.waitForProxy('ssh');
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
    assert.match((await game.locator('td.err').textContent()) ?? '', /not supported/);

    // The page follows the session: when the server goes away it says so.
    await server.stop();
    await page.locator('[data-card="state"] .pill', { hasText: 'reconnecting' }).waitFor();
    assert.deepEqual(pageErrors, []);

    // Without credentials the page itself is refused.
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
