import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverTrustWarnings } from '../../src/client/server-connection.js';
import { buildClientConfig, buildServerConfig, ConfigError } from '../../src/config/load.js';
import { BurrowServer } from '../../src/server/server.js';
import { GENERATED_CERT_FILE, GENERATED_KEY_FILE } from '../../src/transport/generated-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { captureLog, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy } from '../helpers/tunnel.js';

const FINGERPRINT = /server certificate fingerprint: (sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b/;

async function fingerprintOf(log: ReturnType<typeof captureLog>): Promise<string> {
  return FINGERPRINT.exec(await log.waitForLine(FINGERPRINT))![1]!;
}

test('a server reachable from the network refuses an empty token unless allowed', async () => {
  const open = new BurrowServer(buildServerConfig({ bindAddr: '0.0.0.0', bindPort: 0 }));
  await assert.rejects(open.start(), (err: unknown) => {
    assert.ok(isBurrowError(err, 'BURROW_CONFIG_INVALID'));
    assert.match(err.message, /auth\.token is empty and the server listens on 0\.0\.0\.0:0/);
    assert.match(err.message, /auth\.allowEmptyToken = true \(burrow server --allow-empty-token\)/);
    return true;
  });
  assert.equal(open.port, 0, 'nothing was opened');

  // Allowed explicitly: it starts, says so, and an empty-token client works.
  const log = captureLog();
  const allowed = new BurrowServer(buildServerConfig({ bindAddr: '0.0.0.0', bindPort: 0, auth: { allowEmptyToken: true } }), log.logger);
  const echo = await startEcho();
  try {
    await allowed.start();
    await log.waitForLine(/auth\.token is empty: any client that reaches this server can log in/);
    const c = makeClient(allowed.port, { token: '', proxies: [tcpProxy('e', echo.port)] });
    try {
      await c.start();
      const data = patternBytes(5000, 3);
      assert.ok((await echoThrough(portOf((await c.waitForProxy('e')).remoteAddr), data)).equals(data));
    } finally {
      c.stop();
    }
  } finally {
    await allowed.stop();
    await echo.close();
  }

  // On loopback nobody else can reach it: an empty token is fine.
  const local = new BurrowServer(buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0 }));
  await local.start();
  await local.stop();
});

test('the server warns when allowPorts leaves every port open', async () => {
  const open = captureLog();
  const server = await startServer({}, open.logger);
  await open.waitForLine(/allowPorts is empty: clients may open any port on this machine/);
  await server.stop();
  const limited = captureLog();
  const server2 = await startServer({ allowPorts: [{ start: 20000, end: 20999 }] }, limited.logger);
  await limited.waitForLine(/server listening/);
  assert.ok(!limited.lines.some((l) => l.includes('allowPorts is empty')));
  await server2.stop();
});

test('a client pinned to the server certificate connects; a wrong pin fails before login with both fingerprints', async () => {
  const log = captureLog();
  const server = await startServer({}, log.logger);
  const echo = await startEcho();
  const fingerprint = await fingerprintOf(log);
  let logins = 0;
  server.on('clientOnline', () => (logins += 1));
  try {
    // Any spelling of the same bytes: lower case, no colons.
    for (const pin of [fingerprint, `sha256:${fingerprint.slice(7).replace(/:/g, '').toLowerCase()}`]) {
      const client = makeClient(server.port, { proxies: [tcpProxy('pinned', echo.port)], extra: { transport: { tls: { serverFingerprint: pin } } } });
      try {
        await client.start();
        const data = patternBytes(10_000, 5);
        assert.ok((await echoThrough(portOf((await client.waitForProxy('pinned')).remoteAddr), data)).equals(data));
      } finally {
        client.stop();
      }
    }

    const wrong = `sha256:${'AB:'.repeat(31)}AB`;
    assert.equal(logins, 2, 'both pinned clients logged in');
    logins = 0;
    for (const tcpMux of [true, false]) {
      const client = makeClient(server.port, { tcpMux, proxies: [tcpProxy('pinned', echo.port)], extra: { transport: { tls: { serverFingerprint: wrong } } } });
      await assert.rejects(client.start(), (err: unknown) => {
        assert.ok(isBurrowError(err, 'BURROW_TLS_FINGERPRINT_MISMATCH'), String(err));
        assert.match(err.message, /transport\.tls\.serverFingerprint/);
        assert.ok(err.message.includes(`expected ${wrong}`));
        assert.ok(err.message.includes(`presented ${fingerprint}`));
        return true;
      });
      client.stop();
    }
    assert.equal(logins, 0, 'the pinned-out client never logged in');
  } finally {
    await server.stop();
    await echo.close();
  }
});

test('client config: a malformed fingerprint, or one without TLS, is refused naming the key', () => {
  const base = { serverAddr: '127.0.0.1', serverPort: 7000 };
  assert.throws(
    () => buildClientConfig({ ...base, transport: { tls: { serverFingerprint: 'AB:CD' } } }),
    (err: unknown) => err instanceof ConfigError && /transport\.tls\.serverFingerprint: expected "sha256:" and the 32-byte SHA-256/.test(err.message),
  );
  assert.throws(
    () => buildClientConfig({ ...base, transport: { tls: { enable: false, serverFingerprint: `sha256:${'00'.repeat(32)}` } } }),
    (err: unknown) => err instanceof ConfigError && /transport\.tls\.serverFingerprint: needs TLS/.test(err.message),
  );
});

test('the client warns when it does not verify a remote server', () => {
  const at = (extra: Record<string, unknown>) => serverTrustWarnings(buildClientConfig({ serverAddr: 'tunnel.example.com', ...extra }));
  assert.match(at({}).join(), /not verified \(no transport\.tls\.trustedCaFile\).*transport\.tls\.serverFingerprint = "sha256:…"/);
  assert.match(at({ transport: { tls: { enable: false } } }).join(), /transport\.tls\.enable is false/);
  assert.deepEqual(at({ transport: { tls: { serverFingerprint: `sha256:${'00'.repeat(32)}` } } }), []);
  assert.deepEqual(serverTrustWarnings(buildClientConfig({ serverAddr: '127.0.0.1' })), [], 'nobody is between here and a loopback server');
});

test('the generated certificate is kept in generatedCertDir: same fingerprint after a restart, files for the owner only', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'burrow-cert-')), 'certs');
  const first = captureLog();
  const a = await startServer({ transport: { tls: { generatedCertDir: dir } } }, first.logger);
  const fp = await fingerprintOf(first);
  await a.stop();
  for (const f of [GENERATED_CERT_FILE, GENERATED_KEY_FILE]) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is owner-only`);
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  const second = captureLog();
  const b = await startServer({ transport: { tls: { generatedCertDir: dir } } }, second.logger);
  const echo = await startEcho();
  try {
    assert.equal(await fingerprintOf(second), fp, 'the same certificate after a restart');
    const client = makeClient(b.port, { proxies: [tcpProxy('p', echo.port)], extra: { transport: { tls: { serverFingerprint: fp } } } });
    try {
      await client.start();
      await client.waitForProxy('p');
    } finally {
      client.stop();
    }
  } finally {
    await b.stop();
    await echo.close();
  }

  // Without a directory (the library default) nothing is written and each start makes a new one.
  const mem1 = captureLog();
  const m1 = await startServer({}, mem1.logger);
  const mem2 = captureLog();
  const m2 = await startServer({}, mem2.logger);
  assert.notEqual(await fingerprintOf(mem1), await fingerprintOf(mem2));
  await m1.stop();
  await m2.stop();

  // A damaged pair stops the start with the key named, rather than silently changing the fingerprint.
  writeFileSync(join(dir, GENERATED_KEY_FILE), 'not a key');
  const broken = new BurrowServer(
    buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0, auth: { token: 't' }, transport: { tls: { generatedCertDir: dir } } }),
  );
  await assert.rejects(broken.start(), /transport\.tls\.generatedCertDir: .* cannot be used/);
  assert.match(readFileSync(join(dir, GENERATED_CERT_FILE), 'utf8'), /BEGIN CERTIFICATE/, 'the certificate is left as it was');
});
