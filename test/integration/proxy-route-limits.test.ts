import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BurrowServer } from '../../src/server/server.js';
import { rawLogin, type RawClient } from '../helpers/raw-client.js';
import { freePort, startServer } from '../helpers/tunnel.js';

/** Short distinct names, so one NewProxy (at most 10 KiB) carries as many as it can. */
const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i.toString(36)}`);

/**
 * One NewProxy of an http proxy registers custom_domains × locations routes,
 * each inserted in order into its domain's list: a few hundred of each in a
 * 10 KiB message would take the server's event loop for seconds and its
 * memory by the hundred MiB. A logged-in client must not be able to do that.
 */
describe('routes per vhost proxy are bounded', () => {
  let server: BurrowServer;
  let raw: RawClient;

  before(async () => {
    server = await startServer({ vhostHTTPPort: await freePort(), vhostHTTPSPort: await freePort(), tcpmuxHTTPConnectPort: await freePort() });
    raw = await rawLogin(server.port);
  });

  after(async () => {
    raw.close();
    await server.stop();
  });

  test('an http proxy with too many domains × locations is refused with the count, and registers nothing', async () => {
    const resp = await raw.newProxy({ proxy_name: 'wide', proxy_type: 'http', custom_domains: names(300, 'd'), locations: names(300, '/') });
    assert.equal(resp.type, 'NewProxyResp');
    assert.match(resp.body.error ?? '', /custom_domains × locations.*90000 routes.*at most 256/);
    assert.equal(server.findProxy('wide'), undefined);
  });

  test('https and tcpmux proxies with too many custom_domains are refused', async () => {
    for (const type of ['https', 'tcpmux']) {
      const resp = await raw.newProxy({ proxy_name: `many-${type}`, proxy_type: type, custom_domains: names(1000, 'd') });
      assert.equal(resp.type, 'NewProxyResp');
      assert.match(resp.body.error ?? '', /custom_domains.*1000 domains.*at most 256/, type);
      assert.equal(server.findProxy(`many-${type}`), undefined);
    }
  });

  test('a proxy within the bound still registers and the client keeps its control', async () => {
    const resp = await raw.newProxy({ proxy_name: 'narrow', proxy_type: 'http', custom_domains: names(16, 'n'), locations: names(16, '/') });
    assert.equal(resp.type, 'NewProxyResp');
    assert.equal(resp.body.error ?? '', '');
    assert.ok(server.findProxy('narrow'));
  });

  // The answer carries every domain × location as remote_addr; when that exceeds a frame the
  // client is told the proxy failed, yet the server keeps it (routes live, name taken) until
  // the client leaves. The fix is in ControlSession.newProxy (another branch's file).
  test('a proxy whose NewProxyResp cannot be sent is not left registered', async () => {
    const resp = await raw.newProxy({
      proxy_name: 'long-answer',
      proxy_type: 'http',
      custom_domains: [`${'a'.repeat(40)}.example`],
      locations: names(256, '/'),
    });
    assert.equal(resp.type, 'NewProxyResp');
    // Either answer is fine (refused, or registered with a shortened remote_addr); the two sides must agree.
    if (resp.body.error) assert.equal(server.findProxy('long-answer'), undefined, `the client was told "${resp.body.error}" but the proxy stays registered`);
    else assert.ok(server.findProxy('long-answer'));
  });
});
