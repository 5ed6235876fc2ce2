import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer as createHttpServer, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { BurrowServer } from '../../src/server/server.js';
import { CertState } from '../../src/acme/certificate-manager.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { serverConfig } from '../helpers/config.js';
import { fakeTimers } from '../helpers/fake-timers.js';
import { vhostRequest, type HttpAnswer } from '../helpers/http.js';
import { pebbleMissing, startPebble } from '../helpers/pebble.js';
import { captureLog, freePort, makeClient, waitFor, whenDone } from '../helpers/tunnel.js';

const missing = pebbleMissing();
const DAY_MS = 24 * 3600_000;

/** The backend: says which host and scheme the vhost forwarded. */
async function backend(): Promise<number> {
  const server = createHttpServer((req, res) =>
    res.setHeader('x-seen-for', String(req.headers['x-forwarded-for'])).end(`shop ${req.headers.host} ${req.headers['x-forwarded-proto']} ${req.url}`),
  );
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** A TLS backend of its own, for the SNI-passthrough https proxy beside the terminated names. */
async function passthroughBackend(): Promise<number> {
  const cert = generateSelfSignedCertificate({ commonName: 'secure.test' });
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => s.end('passthrough\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** GET https://`name`:`port``path` through 127.0.0.1, trusting only `root`; the answer and the certificate served. */
function httpsGet(port: number, name: string, path: string, root: string, agent?: HttpsAgent): Promise<HttpAnswer & { cert: X509Certificate | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: name, headers: { host: name }, ca: root, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      const peer = (res.socket as tls.TLSSocket).getPeerX509Certificate();
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // A resumed TLS session (a keep-alive agent's next socket) shows no certificate.
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, reused: req.reusedSocket, cert: peer });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('automatic HTTPS with a real ACME CA (pebble): order, serve, redirect, passthrough beside, restart, renewal', {
  skip: missing,
  timeout: 300_000,
}, async (t) => {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const pebble = await startPebble({ httpPort, tlsPort: httpsPort });
  whenDone(t, () => pebble.stop());
  const root = await pebble.root();
  const storage = mkdtempSync(join(tmpdir(), 'burrow-acme-'));
  const config = serverConfig({
    vhostHTTPPort: httpPort,
    vhostHTTPSPort: httpsPort,
    acme: { directory: pebble.directory, storage, domains: ['shop.test', '*.apps.test'], trustedCaFile: pebble.caFile, email: 'ops@shop.test' },
  });
  const local = await backend();
  const secure = await passthroughBackend();
  const proxies = [
    { name: 'shop', type: 'http' as const, localIP: '127.0.0.1', localPort: local, customDomains: ['shop.test', 'plain.test'] },
    { name: 'sub', type: 'http' as const, localIP: '127.0.0.1', localPort: local, customDomains: ['a.apps.test'] },
    { name: 'secure', type: 'https' as const, localIP: '127.0.0.1', localPort: secure, customDomains: ['secure.test'] },
  ];

  const log1 = captureLog();
  const server1 = new BurrowServer(config, log1.logger);
  await server1.start();
  whenDone(t, () => server1.stop());
  const registered = new Promise<number>((resolve) => server1.on('proxyStarted', (_c, p: { name: string }) => p.name === 'shop' && resolve(performance.now())));
  const client1 = makeClient(server1.port, { proxies });
  whenDone(t, () => client1.stop());
  await client1.start();
  const t0 = await registered;
  // Plain HTTP serves at once, while the order is under way.
  assert.match((await vhostRequest(httpPort, 'shop.test', '/early')).body.toString(), /^shop shop\.test http \/early$/);
  const certs = server1.certificates;
  assert.ok(certs);
  await waitFor(() => certs.status('shop.test')?.state === CertState.Valid, 'a certificate for shop.test', 120_000);
  const first = await httpsGet(httpsPort, 'shop.test', '/hello', root);
  const firstMs = performance.now() - t0;
  t.diagnostic(`registration to first HTTPS response: ${Math.round(firstMs)} ms`);
  assert.equal(first.status, 200);
  assert.equal(first.body.toString(), 'shop shop.test https /hello', 'routed as on the HTTP vhost, X-Forwarded-Proto https');
  assert.ok(first.cert?.checkHost('shop.test'));
  assert.equal(first.headers['x-seen-for'], '127.0.0.1', "the visitor's address through the terminated TLS");
  // The glob: a name under *.apps.test gets its own certificate too.
  await waitFor(() => certs.status('a.apps.test')?.state === CertState.Valid, 'a certificate for a.apps.test', 120_000);
  assert.equal((await httpsGet(httpsPort, 'a.apps.test', '/', root)).body.toString(), 'shop a.apps.test https /');
  // Files: 0600 in a 0700 folder.
  assert.equal(statSync(join(storage, 'certs', 'shop.test.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(storage, 'certs')).mode & 0o777, 0o700);

  // Outside acme.domains: no order, plain HTTP as before, no TLS for it.
  assert.equal(certs.status('plain.test'), undefined);
  assert.equal(log1.lines.filter((l) => l.includes('plain.test') && l.includes('ordering')).length, 0);
  assert.match((await vhostRequest(httpPort, 'plain.test', '/x')).body.toString(), /^shop plain\.test http \/x$/);
  await assert.rejects(httpsGet(httpsPort, 'plain.test', '/', root));

  // http → https for the name with a certificate; challenge paths excepted.
  const redirect = await vhostRequest(httpPort, 'shop.test', '/cart?id=1');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, `https://shop.test:${httpsPort}/cart?id=1`);
  assert.equal((await vhostRequest(httpPort, 'shop.test', '/.well-known/acme-challenge/none')).status, 200, 'a challenge path is never redirected');

  // SNI passthrough on the same port, untouched.
  const pass = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'secure.test', rejectUnauthorized: false }, () =>
      s.once('data', (d: Buffer) => resolve(d.toString())),
    );
    s.on('error', reject);
  });
  assert.equal(pass, 'passthrough\n');

  // Rough figures: keep-alive requests one after another, terminated HTTPS against plain HTTP.
  const rate = async (one: () => Promise<unknown>): Promise<number> => {
    const n = 300;
    const start = performance.now();
    for (let i = 0; i < n; i++) await one();
    return Math.round((n * 1000) / (performance.now() - start));
  };
  const ka = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const kas = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  const plainRate = await rate(() => vhostRequest(httpPort, 'plain.test', '/', { agent: ka }));
  const httpsRate = await rate(() => httpsGet(httpsPort, 'shop.test', '/', root, kas));
  ka.destroy();
  kas.destroy();
  t.diagnostic(`rough, sequential keep-alive: plain HTTP vhost ${plainRate} req/s, terminated HTTPS vhost ${httpsRate} req/s`);

  // Restart on the same storage: the certificate comes back, no new order.
  await client1.stop();
  await server1.stop();
  const clock = fakeTimers(Date.now());
  const log2 = captureLog();
  const server2 = new BurrowServer(config, log2.logger, { timers: clock });
  await server2.start();
  whenDone(t, () => server2.stop());
  const client2 = makeClient(server2.port, { proxies });
  whenDone(t, () => client2.stop());
  await client2.start();
  await client2.waitForProxy('shop');
  const certs2 = server2.certificates;
  assert.ok(certs2);
  await waitFor(() => certs2.status('shop.test')?.state === CertState.Valid, 'shop.test loaded from storage');
  const again = await httpsGet(httpsPort, 'shop.test', '/', root);
  assert.ok(again.cert && first.cert);
  assert.equal(again.cert.serialNumber, first.cert.serialNumber, 'the same certificate after a restart');
  assert.equal(log2.lines.filter((l) => l.includes('ordering certificate')).length, 0, 'no order after a restart');

  // Renewal: the clock moves to 29 days before expiry; the next check orders a new one and serves it.
  const notAfter = certs2.status('shop.test')?.notAfter ?? 0;
  clock.tick(notAfter - 29 * DAY_MS - clock.now());
  await log2.waitForLine(/renewing certificate.*shop\.test/);
  await waitFor(
    () => certs2.status('shop.test')?.state === CertState.Valid && certs2.status('shop.test')?.serial !== first.cert?.serialNumber,
    'a renewed certificate',
    120_000,
  );
  const renewed = await httpsGet(httpsPort, 'shop.test', '/', root);
  assert.ok(renewed.cert);
  assert.notEqual(renewed.cert.serialNumber, first.cert.serialNumber);
  assert.equal(renewed.body.toString(), 'shop shop.test https /');

  // TLS-ALPN-01 alone, with the HTTPS vhost sharing the bind port (frp's port sharing): the CA's check
  // arrives there with acme-tls/1 and gets the challenge certificate; the terminated name is served there too.
  await client2.stop();
  await server2.stop();
  const alpnConfig = serverConfig({
    bindPort: httpsPort,
    vhostHTTPPort: httpPort,
    vhostHTTPSPort: httpsPort,
    acme: {
      directory: pebble.directory,
      storage: mkdtempSync(join(tmpdir(), 'burrow-acme-')),
      domains: ['alpn.test'],
      trustedCaFile: pebble.caFile,
      challenges: ['tls-alpn-01'],
    },
  });
  const server3 = new BurrowServer(alpnConfig, captureLog().logger);
  await server3.start();
  whenDone(t, () => server3.stop());
  const client3 = makeClient(server3.port, {
    proxies: [{ name: 'alpn', type: 'http', localIP: '127.0.0.1', localPort: local, customDomains: ['alpn.test'] }],
    // On a shared port a client's TLS starts with frp's 0x17 marker, as with frps.
    extra: { transport: { tls: { disableCustomTLSFirstByte: false } } },
  });
  whenDone(t, () => client3.stop());
  await client3.start();
  const certs3 = server3.certificates;
  assert.ok(certs3);
  await waitFor(() => certs3.status('alpn.test')?.state === CertState.Valid, 'a certificate for alpn.test over TLS-ALPN-01', 120_000);
  assert.equal((await httpsGet(httpsPort, 'alpn.test', '/a', root)).body.toString(), 'shop alpn.test https /a');
});

test('a failing CA: the order backs off and is retried, plain HTTP keeps working', async (t) => {
  // A CA that refuses (400: acme-client does not retry a 4xx, where it waits a minute and more on 5xx and refused connections).
  const ca = createHttpServer((_req, res) =>
    res.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"type":"urn:ietf:params:acme:error:malformed","detail":"no"}'),
  );
  ca.listen(0, '127.0.0.1');
  await once(ca, 'listening');
  whenDone(t, () => new Promise((r) => ca.close(r)));
  ca.unref();
  const httpPort = await freePort();
  const clock = fakeTimers(Date.now());
  const log = captureLog();
  const config = serverConfig({
    vhostHTTPPort: httpPort,
    vhostHTTPSPort: await freePort(),
    acme: {
      directory: `http://127.0.0.1:${(ca.address() as AddressInfo).port}/dir`,
      storage: mkdtempSync(join(tmpdir(), 'burrow-acme-')),
      domains: ['shop.test'],
    },
  });
  const server = new BurrowServer(config, log.logger, { timers: clock });
  await server.start();
  whenDone(t, () => server.stop());
  const client = makeClient(server.port, {
    proxies: [{ name: 'shop', type: 'http', localIP: '127.0.0.1', localPort: await backend(), customDomains: ['shop.test'] }],
  });
  whenDone(t, () => client.stop());
  await client.start();
  await client.waitForProxy('shop');
  const certs = server.certificates;
  assert.ok(certs);
  await waitFor(() => certs.status('shop.test')?.state === CertState.Failed, 'the order to fail');
  assert.match(await log.waitForLine(/order failed/), /retryInSeconds/);
  const answer = await vhostRequest(httpPort, 'shop.test', '/');
  assert.equal(answer.status, 200, 'plain HTTP, no redirect without a certificate');
  // Nothing is tried again before the back-off (at least 5 minutes) has passed.
  clock.tick(4 * 60_000);
  assert.equal(log.lines.filter((l) => l.includes('ordering certificate')).length, 1);
  clock.tick(2 * 60 * 60_000);
  await waitFor(() => log.lines.filter((l) => l.includes('order failed')).length === 2, 'the retried order to fail again');
});
