import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BurrowServer } from '../../src/server/server.js';
import { generateCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { createLogger } from '../../src/util/logger.js';
import { serverConfig, type RawClientConfig, type RawServerConfig } from '../helpers/config.js';
import { freeUdpPort } from '../helpers/udp-relay.js';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, tcpProxy, waitFor, type EchoService } from '../helpers/tunnel.js';

/** Certificates written to files, as a user configures them (tls_cert_file and friends). */
function writePki(dir: string): Record<string, string> {
  const ca = generateCertificate({ commonName: 'burrow test CA', isCA: true });
  const otherCa = generateCertificate({ commonName: 'some other CA', isCA: true });
  const pems: Record<string, string> = {
    ca: ca.cert,
    otherCa: otherCa.cert,
    ...pair('server', generateCertificate({ commonName: 'tunnel.example', altNames: ['127.0.0.1'], issuer: ca })),
    ...pair('client', generateCertificate({ commonName: 'client-1', issuer: ca })),
    ...pair('stranger', generateCertificate({ commonName: 'client-x', issuer: otherCa })),
  };
  const paths: Record<string, string> = {};
  for (const [name, pem] of Object.entries(pems)) {
    paths[name] = join(dir, `${name}.pem`);
    writeFileSync(paths[name], pem);
  }
  return paths;
}

function pair(name: string, c: { cert: string; key: string }): Record<string, string> {
  return { [`${name}Cert`]: c.cert, [`${name}Key`]: c.key };
}

/** A server whose warnings are kept for assertions. */
async function startServerLoggingOn(overrides: RawServerConfig): Promise<{ server: BurrowServer; lines: string[] }> {
  const lines: string[] = [];
  const server = new BurrowServer(serverConfig(overrides), createLogger({ level: 'warn', write: (line) => lines.push(line) }));
  await server.start();
  return { server, lines };
}

for (const protocol of ['tcp', 'websocket', 'wss', 'quic'] as const) {
  describe(`TLS options over ${protocol}`, () => {
    // QUIC clients reach quicBindPort (UDP); the others the bind port.
    const startServerLogging = async (overrides: RawServerConfig): Promise<{ server: BurrowServer; lines: string[] }> =>
      startServerLoggingOn(protocol === 'quic' ? { ...overrides, quicBindPort: await freeUdpPort() } : overrides);
    const portFor = (server: BurrowServer): number => (protocol === 'quic' ? server.quicPort : server.port);
    let dir: string;
    let pki: Record<string, string>;
    let echo: EchoService;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'burrow-tls-'));
      pki = writePki(dir);
      echo = await startEcho();
    });
    after(async () => {
      await echo.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const mutualServer = (): RawServerConfig => ({
      transport: { tls: { certFile: pki.serverCert, keyFile: pki.serverKey, trustedCaFile: pki.ca } },
    });
    const clientTls = (tls: NonNullable<NonNullable<RawClientConfig['transport']>['tls']>): RawClientConfig => ({ transport: { tls } });

    test('mutual TLS with files: a client certificate from the CA gets through and the server is verified', async () => {
      const { server } = await startServerLogging(mutualServer());
      const client = makeClient(portFor(server), {
        protocol,
        proxies: [tcpProxy('echo', echo.port)],
        extra: clientTls({ certFile: pki.clientCert, keyFile: pki.clientKey, trustedCaFile: pki.ca, serverName: 'tunnel.example' }),
      });
      try {
        await client.start();
        const port = portOf((await client.waitForProxy('echo')).remoteAddr);
        const data = patternBytes(300_000, 4);
        assert.ok((await echoThrough(port, data)).equals(data));
      } finally {
        client.stop();
        await server.stop();
      }
    });

    test('a client certificate from another CA is refused; the server says why', async () => {
      const { server, lines } = await startServerLogging(mutualServer());
      const client = makeClient(portFor(server), { protocol, extra: clientTls({ certFile: pki.strangerCert, keyFile: pki.strangerKey }) });
      try {
        await assert.rejects(client.start());
        await waitFor(() => lines.some((l) => /connection refused/.test(l)), 'the refusal in the server log');
        assert.match(lines.join('\n'), /client certificate|not signed by the trusted CA/);
        assert.equal(server.clients.length, 0);
      } finally {
        client.stop();
        await server.stop();
      }
    });

    test('a server certificate that fails verification is BURROW_TLS, retried with backoff', async () => {
      const { server } = await startServerLogging({ transport: { tls: { certFile: pki.serverCert, keyFile: pki.serverKey } } });
      const client = makeClient(portFor(server), { protocol, loginFailExit: false, extra: clientTls({ trustedCaFile: pki.otherCa }) });
      try {
        const retried = once(client, 'retry');
        const started = client.start();
        const [attempt, delay, reason] = (await retried) as [number, number, string];
        assert.equal(attempt, 1);
        assert.ok(delay >= 1000 && delay <= 1200, `delay ${delay}`);
        assert.match(reason, /^TLS handshake with 127\.0\.0\.1:\d+ failed: .*(unable to get local issuer|self.signed|certificate)/i);
        client.stop();
        await assert.rejects(started, (err: unknown) => isBurrowError(err));
      } finally {
        client.stop();
        await server.stop();
      }
    });
  });
}

describe('tls force (tls_only)', () => {
  test('a plain client is refused with a clear reason in the server log; a TLS client is served', async () => {
    const echo = await startEcho();
    const { server, lines } = await startServerLoggingOn({ transport: { tls: { force: true } } });
    const plain = makeClient(server.port, { tls: false });
    const websocketPlain = makeClient(server.port, { tls: false, protocol: 'websocket' });
    const secure = makeClient(server.port, { tls: true, proxies: [tcpProxy('echo', echo.port)] });
    try {
      await assert.rejects(plain.start());
      await assert.rejects(websocketPlain.start());
      await waitFor(() => lines.filter((l) => /the server requires TLS/.test(l)).length >= 2, 'two refusals in the server log');
      assert.match(lines.join('\n'), /plain connection from 127\.0\.0\.1:\d+ refused: the server requires TLS/);
      assert.match(lines.join('\n'), /plain connection from 127\.0\.0\.1:\d+ \(in a websocket\) refused: the server requires TLS/);
      await secure.start();
      const port = portOf((await secure.waitForProxy('echo')).remoteAddr);
      assert.equal((await echoThrough(port, Buffer.from('still fine'))).toString(), 'still fine');
    } finally {
      secure.stop();
      await server.stop();
      await echo.close();
    }
  });

  test('kcpBindPort and quicBindPort are both served, without a warning', async () => {
    const { server, lines } = await startServerLoggingOn({ kcpBindPort: await freeUdpPort(), quicBindPort: await freeUdpPort() });
    assert.ok(server.kcpPort > 0);
    assert.ok(server.quicPort > 0);
    await server.stop();
    assert.equal(lines.filter((l) => /not served/.test(l)).length, 0);
  });
});
