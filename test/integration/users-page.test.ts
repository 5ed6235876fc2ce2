import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, NO_CHROMIUM } from '../helpers/browser.js';
import { DASHBOARD_CREDENTIALS, startManaged } from '../helpers/managed-users.js';
import { rawLogin } from '../helpers/raw-client.js';
import { echoThrough, patternBytes, portOf, tcpProxy, tunnelKit, whenDone } from '../helpers/tunnel.js';

test('the dashboard adds a user, shows its token once, edits a limit and deletes it, in headless Chromium', { skip: NO_CHROMIUM }, async (t) => {
  const m = await startManaged(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const chromium = await launchChromium();
  whenDone(t, () => chromium.close());
  const context = await chromium.browser.newContext({ httpCredentials: DASHBOARD_CREDENTIALS });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`http://127.0.0.1:${m.dashboard.port}/`);

  // The server config's own account is listed read-only: no buttons on its row.
  const carol = page.locator('#users tr[data-user="carol"]');
  await carol.waitFor();
  assert.equal(await carol.locator('button').count(), 0);

  // A bad value is answered by the server, naming the field; nothing is added.
  await page.click('#user-new');
  await page.fill('#user-form input[name="name"]', 'dave');
  await page.fill('#user-form input[name="trafficQuota"]', 'lots');
  await page.click('#user-save');
  await page.locator('#user-error:not([hidden])').waitFor();
  assert.match((await page.textContent('#user-error')) ?? '', /^trafficQuota: "lots" is not a size/);

  await page.fill('#user-form input[name="trafficQuota"]', '1GB');
  await page.fill('#user-form input[name="maxProxies"]', '2');
  await page.click('#user-save');
  await page.locator('#user-token:not([hidden])').waitFor();
  assert.equal(await page.textContent('#user-token-name'), 'dave');
  const token = (await page.textContent('#user-token-value')) ?? '';
  assert.match(token, /^[A-Za-z0-9_-]{32}$/);
  // Shown once: dismissed, it is gone from the page, and no request answers it again.
  await page.click('#user-token-close');
  assert.equal(await page.textContent('#user-token-value'), '');
  assert.ok(!(await page.content()).includes(token));

  // The token the page showed logs a client in; the row shows its proxy online and the quota.
  const client = kit.makeClient(m.server.port, { token, extra: { user: 'dave' }, proxies: [tcpProxy('t', echo.port, { remotePort: 0 })] });
  await client.start();
  const port = portOf((await client.waitForProxy('t')).remoteAddr);
  const data = patternBytes(2048, 5);
  assert.deepEqual(await echoThrough(port, data), data);
  const dave = page.locator('#users tr[data-user="dave"]');
  await dave.locator('[data-field="proxies"]', { hasText: 'dave.t' }).waitFor();
  await dave.locator('[data-field="status"] .pill.ok').waitFor();
  await dave.locator('[data-field="traffic"]', { hasText: 'of 1.0 GiB' }).waitFor();
  assert.match((await dave.locator('[data-field="limits"]').textContent()) ?? '', /max 2 proxies/);

  // Edit a limit: the form opens with the current values, and the row shows the new one.
  await dave.locator('button[data-action="edit"]').click();
  assert.equal(await page.inputValue('#user-form input[name="maxProxies"]'), '2');
  await page.fill('#user-form input[name="maxConnections"]', '7');
  await page.click('#user-save');
  await dave.locator('[data-field="conns"]', { hasText: 'of 7' }).waitFor();
  assert.match(readFileSync(join(m.dir, 'users.toml'), 'utf8'), /maxConnections = 7/);

  // Delete: confirmed in the browser's dialog; the row goes, the port is freed and the token no longer logs in.
  await client.stop();
  page.once('dialog', (d) => void d.accept());
  await dave.locator('button[data-action="delete"]').click();
  await dave.waitFor({ state: 'detached' });
  await assert.rejects(rawLogin(m.server.port, { user: 'dave', token }), /login refused/);
  assert.ok(!readFileSync(join(m.dir, 'users.toml'), 'utf8').includes('"dave"'));
  assert.deepEqual(pageErrors, []);
});
