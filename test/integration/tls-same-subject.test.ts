import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isBurrowError } from '../../src/util/errors.js';
import type { RawClientConfig } from '../helpers/config.js';
import { captureLog, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy } from '../helpers/tunnel.js';

/**
 * A CA and a leaf with the same subject, as frp's docs and e2e suite make
 * them (test/fixtures/tls-same-subject/make.sh). OpenSSL calls the leaf
 * self-signed; frp (Go) accepts it, and so must burrow: one-way, with
 * serverName, and for mutual TLS.
 */
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls-same-subject/${name}`, import.meta.url));
const CA = fixture('ca.crt');
const LEAF = { certFile: fixture('leaf.crt'), keyFile: fixture('leaf.key') };
const IMPOSTOR = { certFile: fixture('impostor.crt'), keyFile: fixture('impostor.key') };
type ClientTls = NonNullable<NonNullable<RawClientConfig['transport']>['tls']>;

async function tunnelWorks(serverTls: Record<string, string>, clientTls: ClientTls): Promise<void> {
  const echo = await startEcho();
  const server = await startServer({ transport: { tls: serverTls } });
  const client = makeClient(server.port, { proxies: [tcpProxy('echo', echo.port)], extra: { transport: { tls: clientTls } } });
  try {
    await client.start();
    const data = patternBytes(50_000, 2);
    assert.ok((await echoThrough(portOf((await client.waitForProxy('echo')).remoteAddr), data)).equals(data));
  } finally {
    client.stop();
    await server.stop();
    await echo.close();
  }
}

/** The reason of the client's first failed attempt. */
async function firstFailure(serverTls: Record<string, string>, clientTls: ClientTls, serverLog = captureLog()): Promise<string> {
  const server = await startServer({ transport: { tls: serverTls } }, serverLog.logger);
  const client = makeClient(server.port, { loginFailExit: false, extra: { transport: { tls: clientTls } } });
  try {
    const retried = once(client, 'retry');
    const started = client.start();
    const [, , reason] = (await retried) as [number, number, string];
    client.stop();
    await assert.rejects(started, (err: unknown) => isBurrowError(err));
    return reason;
  } finally {
    client.stop();
    await server.stop();
  }
}

test('client verifies a server leaf that shares its CA subject (trustedCaFile, by IP)', () => tunnelWorks(LEAF, { trustedCaFile: CA }));

test('client verifies it against transport.tls.serverName', () => tunnelWorks(LEAF, { trustedCaFile: CA, serverName: 'example.com' }));

test('mutual TLS: the server accepts a client leaf that shares its CA subject', () =>
  tunnelWorks({ ...LEAF, trustedCaFile: CA }, { ...LEAF, trustedCaFile: CA, serverName: 'example.com' }));

test('not weakened: a wrong serverName is refused', async () => {
  assert.match(await firstFailure(LEAF, { trustedCaFile: CA, serverName: 'other.example' }), /not trusted: .*other\.example/);
});

test('not weakened: a self-signed server certificate with the CA subject is refused', async () => {
  assert.match(await firstFailure(IMPOSTOR, { trustedCaFile: CA }), /not trusted: DEPTH_ZERO_SELF_SIGNED_CERT/);
});

test('not weakened: mutual TLS refuses a self-signed client certificate with the CA subject, and a missing one', async () => {
  const log = captureLog();
  await firstFailure({ ...LEAF, trustedCaFile: CA }, { ...IMPOSTOR, trustedCaFile: CA }, log);
  await log.waitForLine(/client certificate from .* rejected: DEPTH_ZERO_SELF_SIGNED_CERT/);
  const log2 = captureLog();
  await firstFailure({ ...LEAF, trustedCaFile: CA }, { trustedCaFile: CA }, log2);
  await log2.waitForLine(/sent no certificate/);
});
