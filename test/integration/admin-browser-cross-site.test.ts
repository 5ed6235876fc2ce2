import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { loadClientConfig } from '../../src/config/load.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/browser.js';
import { captureLog, startServer, TOKEN } from '../helpers/tunnel.js';

test('a page from another origin in a real browser can neither stop nor reload the client', { skip: NO_CHROMIUM }, async () => {
  const server = await startServer();
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-browser-csrf-')), 'frpc.toml');
  const base = `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "${TOKEN}"\n`;
  writeFileSync(file, base);
  const client = new BurrowClient(loadClientConfig(file));
  const log = captureLog();
  let stops = 0;
  const admin = await startClientAdmin({
    client,
    configFile: file,
    addr: '127.0.0.1',
    port: 0,
    user: '',
    password: '',
    logger: log.logger,
    stop: () => (stops += 1),
  });
  const target = `http://127.0.0.1:${admin.port}`;
  // The other web site: a page that fires both attacks and then says so in its title.
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><script>
      const img = new Image();
      const imgDone = new Promise((r) => { img.onload = img.onerror = r; });
      img.src = '${target}/api/reload';
      Promise.allSettled([fetch('${target}/api/stop', { method: 'POST', mode: 'no-cors' }), imgDone]).then(() => { document.title = 'fired'; });
    </script>`);
  });
  evil.listen(0, '127.0.0.1');
  await once(evil, 'listening');
  const chromium = await launchChromium();
  try {
    await client.start();
    writeFileSync(file, base + `\n[[proxies]]\nname = "added"\ntype = "tcp"\nlocalPort = 1\n`);
    const page = await chromium.browser.newPage();
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => document.title === 'fired');
    // Both requests reached the admin API and were refused there.
    await log.waitForLine(/sent by another web site.*\/api\/stop|\/api\/stop.*sent by another web site/);
    await log.waitForLine(/sent by another web site.*\/api\/reload|\/api\/reload.*sent by another web site/);
    assert.equal(stops, 0, 'the client was not stopped');
    assert.equal(client.status('added'), undefined, 'the file was not reloaded');
  } finally {
    await chromium.close();
    evil.close();
    client.stop();
    await admin.close();
    await server.stop();
  }
});
