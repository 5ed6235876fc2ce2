import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { CertState } from '../../src/acme/certificate-manager.js';
import { pebbleMissing, startPebble } from '../helpers/pebble.js';
import { redisSkip, startRedis } from '../helpers/redis.js';
import { captureLog, freePort, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/**
 * Issue 22: ACME shared through the cluster's Redis, against a real CA
 * (pebble). Node A orders; pebble's mock DNS sends every check to node B,
 * which answers from the challenge A published in Redis; when the tunnel
 * moves to B, B serves A's certificate without ordering one.
 */

const SECRET = 'cluster-secret-for-tests';
const A = '127.0.0.2';
const B = '127.0.0.3';
const skip = redisSkip || pebbleMissing() || false;

/** The serial of the certificate host:port serves for `name`, trusting only `root`. */
function servedSerial(host: string, port: number, name: string, root: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: name, ca: root, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

for (const challenge of ['http-01', 'tls-alpn-01'] as const) {
  test(`one node orders (${challenge}, the CA's check landing on the other), every node serves the certificate`, { skip, timeout: 240_000 }, async (t) => {
    const kit = tunnelKit(t);
    const redis = await startRedis();
    whenDone(t, () => redis.kill());
    const httpPort = await freePort();
    const httpsPort = await freePort();
    const pebble = await startPebble({ httpPort, tlsPort: httpsPort, address: B });
    whenDone(t, () => pebble.stop());
    const root = await pebble.root();
    const web = createHttpServer((req, res) => res.end(`shop ${req.headers.host}`));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    whenDone(t, () => new Promise((r) => web.close(r)));
    const webPort = (web.address() as AddressInfo).port;

    const node = (name: string, host: string, logger: ReturnType<typeof captureLog>['logger']) => {
      const storage = mkdtempSync(join(tmpdir(), 'burrow-acme-cluster-'));
      whenDone(t, () => rmSync(storage, { recursive: true, force: true }));
      return kit.startServer(
        {
          bindAddr: host,
          bindPort: 0,
          proxyBindAddr: host,
          vhostHTTPPort: httpPort,
          vhostHTTPSPort: httpsPort,
          acme: { directory: pebble.directory, storage, domains: ['shop.test'], trustedCaFile: pebble.caFile, challenges: [challenge] },
          cluster: { redis: redis.url, nodeName: name, secret: SECRET, linkPort: 0, leaseSeconds: 3 },
        },
        logger,
      );
    };
    const logA = captureLog();
    const logB = captureLog();
    const a = await node('a', A, logA.logger);
    const b = await node('b', B, logB.logger);
    const proxies = [{ name: 'shop', type: 'http' as const, localIP: '127.0.0.1', localPort: webPort, customDomains: ['shop.test'] }];

    const onA = kit.makeClient(a.port, { proxies, extra: { serverAddr: A } });
    await onA.start();
    await waitFor(() => a.certificates?.status('shop.test')?.state === CertState.Valid, 'node A to obtain the certificate', 120_000);
    await logB.waitForLine(/challenge answered from another node's order/);
    const serial = a.certificates!.status('shop.test')!.serial!;
    assert.equal(await servedSerial(A, httpsPort, 'shop.test', root), serial);

    // The tunnel moves to B: B takes A's certificate from Redis and orders nothing.
    await onA.stop();
    await waitFor(() => b.cluster!.routes.findDomain('http', 'shop.test') === undefined, 'the domain to be free');
    const onB = kit.makeClient(b.port, { proxies, extra: { serverAddr: B } });
    await onB.start();
    await waitFor(() => b.certificates?.status('shop.test')?.state === CertState.Valid, 'node B to load the certificate', 60_000);
    await logB.waitForLine(/certificate loaded from the cluster/);
    assert.equal(b.certificates!.status('shop.test')!.serial, serial);
    assert.equal(await servedSerial(B, httpsPort, 'shop.test', root), serial);
    assert.equal(logB.lines.filter((l) => l.includes('acme: ordering certificate')).length, 0, 'node B never ordered');
  });
}

test('the order lock of a name: one node at a time, freed by its holder; the first account key stays', { skip: redisSkip }, async (t) => {
  const redis = await startRedis();
  whenDone(t, () => redis.kill());
  const { RedisLink } = await import('../../src/cluster/redis-link.js');
  const { ClusterAcme } = await import('../../src/cluster/shared-acme.js');
  const { silentLogger } = await import('../../src/util/logger.js');
  const links = [new RedisLink(redis.url, silentLogger), new RedisLink(redis.url, silentLogger)];
  for (const l of links) {
    await l.start();
    whenDone(t, () => l.close());
  }
  const [one, two] = [new ClusterAcme(links[0]!, 'a'), new ClusterAcme(links[1]!, 'b')];
  const unlock = await one.lockOrder('shop.test');
  assert.ok(unlock, 'the first node gets the lock');
  assert.equal(await two.lockOrder('shop.test'), undefined, 'the second waits');
  unlock();
  let again: (() => void) | undefined;
  await waitFor(() => {
    void two.lockOrder('shop.test').then((u) => (again ??= u));
    return again !== undefined;
  }, 'the lock to be free again');
  assert.equal(await one.saveAccountKey('https://ca/dir', 'key-a'), 'key-a');
  assert.equal(await two.saveAccountKey('https://ca/dir', 'key-b'), 'key-a', "the first node's account is everyone's");
  assert.equal(await two.accountKey('https://ca/dir'), 'key-a');
});
