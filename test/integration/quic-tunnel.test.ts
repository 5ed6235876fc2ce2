/**
 * burrow client ↔ burrow server over QUIC (real UDP sockets on 127.0.0.1):
 * one QUIC connection per client, one QUIC stream per logical connection,
 * a tcp proxy echoing small and 1 MiB payloads and 20 connections at once,
 * with tcpMux on and off (QUIC ignores it, as frp); a pinned server
 * fingerprint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { certificateFingerprint } from '../../src/transport/generated-cert.js';
import { generateCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor, type EchoService } from '../helpers/tunnel.js';
import { freeUdpPort } from '../helpers/udp-relay.js';

const MiB = 1024 * 1024;

for (const tcpMux of [true, false]) {
  describe(`quic tunnel (tcpMux ${tcpMux ? 'on' : 'off'})`, () => {
    let echo: EchoService;
    let server: BurrowServer;
    let client: BurrowClient;
    let port: number;

    before(async () => {
      echo = await startEcho();
      server = await startServer({ quicBindPort: await freeUdpPort(), transport: { tcpMux } });
      assert.ok(server.quicPort > 0);
      client = makeClient(server.quicPort, { protocol: 'quic', tcpMux, proxies: [tcpProxy('echo', echo.port)] });
      await client.start();
      port = portOf((await client.waitForProxy('echo')).remoteAddr);
    });

    after(async () => {
      client.stop();
      await server.stop();
      await echo.close();
    });

    test('echoes a small payload, half-close included', async () => {
      const data = Buffer.from('hello over quic');
      assert.deepEqual(await echoThrough(port, data), data);
    });

    test('echoes 1 MiB byte-exact', async () => {
      const data = patternBytes(MiB, 3);
      const back = await echoThrough(port, data);
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data), 'echoed bytes differ');
    });

    test('carries 20 parallel connections', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const data = patternBytes(2000 + i * 101, i + 1);
          return (await echoThrough(port, data)).equals(data);
        }),
      );
      assert.equal(results.filter(Boolean).length, 20);
    });

    test('one QUIC connection carries the control and every work connection', () => {
      assert.equal(server.clients.length, 1);
      assert.equal(server.clients[0]?.remoteAddress, '127.0.0.1');
    });

    test('leaves no visitor connection open', async () => {
      await waitFor(() => server.findProxy('echo')?.activeConnections === 0, 'visitor sockets to close');
    });
  });
}

describe('quic: the server pinned by transport.tls.serverFingerprint', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let pin: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-quic-'));
    const cert = generateCertificate({ commonName: 'tunnel.example' });
    certFile = join(dir, 'server.pem');
    keyFile = join(dir, 'server.key');
    writeFileSync(certFile, cert.cert);
    writeFileSync(keyFile, cert.key);
    pin = certificateFingerprint(cert.cert);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the pinned server is reached; another certificate fails before the login is sent', async () => {
    const server = await startServer({ quicBindPort: await freeUdpPort(), transport: { tls: { certFile, keyFile } } });
    const good = makeClient(server.quicPort, { protocol: 'quic', extra: { transport: { tls: { serverFingerprint: pin } } } });
    const wrong = `sha256:${'00:'.repeat(31)}00`;
    const bad = makeClient(server.quicPort, { protocol: 'quic', extra: { transport: { tls: { serverFingerprint: wrong } } } });
    try {
      await good.start();
      assert.equal(server.clients.length, 1);
      await assert.rejects(bad.start(), (err: unknown) => isBurrowError(err, 'BURROW_TLS_FINGERPRINT_MISMATCH') && err.message.includes(pin));
      assert.equal(server.clients.length, 1);
    } finally {
      good.stop();
      bad.stop();
      await server.stop();
    }
  });
});
