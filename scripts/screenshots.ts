// Screenshots of the server dashboard and the client admin page, taken from a
// live `burrow demo` with some traffic flowing, in headless Chromium.
//   npm run screenshots [-- <dir>]      (default: ./screenshots)
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { startDemo } from '../src/demo/demo.js';
import { silentLogger } from '../src/util/logger.js';
import { launchChromium } from '../test/helpers/browser.js';

/** POSTs with node:http: fetch would not send the demo.localhost Host header to 127.0.0.1. */
function post(url: string, body: string): Promise<void> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const headers = { host: u.host, 'content-type': body.startsWith('{') ? 'application/json' : 'text/plain' };
    const req = request({ host: '127.0.0.1', port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', done);
    });
    req.on('error', fail);
    req.end(body);
  });
}

const dir = resolve(process.argv[2] ?? 'screenshots');
mkdirSync(dir, { recursive: true });
const demo = await startDemo(silentLogger);
const chromium = await launchChromium();
try {
  // Requests keep flowing while the pages are open, so the counters and sparklines move.
  let flowing = true;
  const traffic = (async () => {
    for (let i = 0; flowing; i++) {
      if (i % 2) await post(demo.url, 'x'.repeat((16 + (i % 48)) * 1024));
      else await post(`${demo.httpUrl}webhook/${i}`, JSON.stringify({ event: 'order.paid', order: 1000 + i, amount: 42.5, items: [{ sku: 'A-1', qty: 2 }] }));
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 720 } });
  for (const [name, url] of [
    ['dashboard', demo.dashboardUrl],
    ['admin', demo.adminUrl],
  ] as const) {
    await page.goto(url);
    await page.locator('#proxies tr[data-proxy] .pill').first().waitFor();
    await page.waitForTimeout(8000);
    const file = join(dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(file);
  }
  // The inspector with one request open and replayed.
  await page.goto(`${demo.adminUrl}#inspect`);
  await page.locator('#requests tbody tr[data-id]').first().click();
  await page.getByRole('button', { name: 'Replay', exact: true }).click();
  await page.locator('[data-pane="replay"]').waitFor();
  const file = join(dir, 'inspect.png');
  await page.screenshot({ path: file, fullPage: false });
  console.log(file);
  flowing = false;
  await traffic;
} finally {
  await chromium.close();
  await demo.stop();
}
