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
    const req = request({ host: '127.0.0.1', port: u.port, path: '/', method: 'POST', headers: { host: u.host } }, (res) => {
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
      const body = 'x'.repeat((16 + (i % 48)) * 1024);
      await post(i % 2 ? demo.url : demo.httpUrl, body);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 720 } });
  for (const [name, url] of [['dashboard', demo.dashboardUrl], ['admin', demo.adminUrl]] as const) {
    await page.goto(url);
    await page.locator('#proxies tr[data-proxy] .pill').first().waitFor();
    await page.waitForTimeout(8000);
    const file = join(dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(file);
  }
  flowing = false;
  await traffic;
} finally {
  await chromium.close();
  await demo.stop();
}
