import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertState } from '../../src/acme/certificate-manager.js';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import { pebbleMissing, startPebble } from '../helpers/pebble.js';
import { SSO_CLIENT_ID, SSO_CLIENT_SECRET, startSsoIssuer } from '../helpers/sso-issuer.js';
import { freePort, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

test('SSO on a name whose TLS the HTTPS vhost terminates (a certificate from pebble): https redirect URI, Secure cookies, the service reached', {
  skip: pebbleMissing(),
  timeout: 300_000,
}, async (t) => {
  const kit = tunnelKit(t);
  const seen: http.IncomingHttpHeaders[] = [];
  const web = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end(`home ${req.headers['x-forwarded-proto']} ${req.url}`);
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  whenDone(t, () => new Promise((r) => web.close(r)));
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const pebble = await startPebble({ httpPort, tlsPort: httpsPort });
  whenDone(t, () => pebble.stop());
  const issuer = await startSsoIssuer([`https://shop.test:${httpsPort}/.burrow/sso/callback`]);
  whenDone(t, () => issuer.close());
  const server = await kit.startServer({
    vhostHTTPPort: httpPort,
    vhostHTTPSPort: httpsPort,
    acme: { directory: pebble.directory, storage: mkdtempSync(join(tmpdir(), 'burrow-sso-acme-')), domains: ['shop.test'], trustedCaFile: pebble.caFile },
    sso: [{ domains: ['shop.test'], issuer: issuer.issuer, clientID: SSO_CLIENT_ID, clientSecret: SSO_CLIENT_SECRET, allowedEmails: ['alice@example.com'] }],
  });
  const client = kit.makeClient(server.port, {
    proxies: [{ name: 'shop', type: 'http', localIP: '127.0.0.1', localPort: (web.address() as AddressInfo).port, customDomains: ['shop.test'] }],
  });
  await client.start();
  await client.waitForProxy('shop');
  const certs = server.certificates;
  assert.ok(certs);
  await waitFor(() => certs.status('shop.test')?.state === CertState.Valid, 'a certificate for shop.test', 120_000);

  const browser = new CookieBrowser(await pebble.root());
  const base = `https://shop.test:${httpsPort}`;
  // Plain http first goes to https (acme.redirectHTTP), and only then to the issuer.
  const plain = await browser.request(`http://shop.test:${httpPort}/cart`);
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, `${base}/cart`);
  const first = await browser.request(`${base}/cart`);
  assert.equal(first.status, 302);
  assert.equal(new URL(String(first.headers.location)).searchParams.get('redirect_uri'), `${base}/.burrow/sso/callback`);
  assert.match(String(first.headers['set-cookie']), /; Secure$/);
  assert.equal(seen.length, 0);

  issuer.loginAs = 'alice@example.com';
  const steps = await browser.follow(`${base}/cart`, 12);
  assert.equal(steps.at(-1)?.body, 'home https /cart');
  const callback = steps.find((s) => s.url.startsWith(`${base}/.burrow/sso/callback`));
  assert.match(String(callback?.headers['set-cookie']), /^burrow_sso_[0-9a-f]{12}=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax; Secure/);
  assert.equal(seen.at(-1)?.['x-forwarded-email'], 'alice@example.com');
  assert.equal(seen.at(-1)?.cookie, undefined);
});
