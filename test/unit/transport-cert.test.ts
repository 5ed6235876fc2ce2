import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generateCertificate, generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';

test('a self-signed certificate parses, is valid now, matches its key and verifies with itself', (t) => {
  const started = performance.now();
  const { cert, key } = generateSelfSignedCertificate({ commonName: 'tunnel.example', days: 30 });
  t.diagnostic(`EC P-256 self-signed certificate generated in ${(performance.now() - started).toFixed(1)} ms`);

  assert.match(cert, /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
  const x509 = new X509Certificate(cert);
  assert.equal(x509.subject, 'CN=tunnel.example');
  assert.equal(x509.issuer, 'CN=tunnel.example');
  assert.equal(x509.ca, false);
  const now = Date.now();
  assert.ok(new Date(x509.validFrom).getTime() <= now, x509.validFrom);
  assert.ok(new Date(x509.validTo).getTime() > now + 29 * 86_400_000, x509.validTo);
  assert.ok(new Date(x509.validTo).getTime() <= now + 30 * 86_400_000 + 1000, x509.validTo);
  assert.ok(x509.checkPrivateKey(createPrivateKey(key)));
  assert.ok(x509.verify(x509.publicKey));
  assert.equal(x509.publicKey.asymmetricKeyType, 'ec');
  const altNames = x509.subjectAltName ?? '';
  for (const name of ['DNS:tunnel.example', 'DNS:localhost', 'IP Address:127.0.0.1']) {
    assert.ok(altNames.includes(name), `${name} missing from ${altNames}`);
  }
  assert.ok(x509.checkHost('tunnel.example'));
  assert.ok(x509.checkIP('127.0.0.1'));
  // Positive 16-byte serial: 32 hex digits, top bit clear.
  assert.match(x509.serialNumber, /^[0-7][0-9A-F]{31}$/);
});

test('two certificates never share a serial number', () => {
  const a = new X509Certificate(generateSelfSignedCertificate().cert);
  const b = new X509Certificate(generateSelfSignedCertificate().cert);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.equal(a.subject, 'CN=burrow');
});

test('an RSA-2048 key is available and signs with sha256WithRSAEncryption', (t) => {
  const started = performance.now();
  const { cert, key } = generateCertificate({ commonName: 'rsa.example', keyType: 'rsa' });
  t.diagnostic(`RSA-2048 certificate generated in ${(performance.now() - started).toFixed(1)} ms`);
  const x509 = new X509Certificate(cert);
  assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(x509.checkPrivateKey(createPrivateKey(key)));
  assert.ok(x509.verify(x509.publicKey));
});

test('IP common names and extra alt names are encoded as IP addresses', () => {
  const { cert } = generateCertificate({ commonName: '10.1.2.3', altNames: ['2001:db8::1', '::ffff:192.0.2.1', 'a.example'] });
  const x509 = new X509Certificate(cert);
  assert.ok(x509.checkIP('10.1.2.3'));
  assert.ok(x509.checkIP('2001:db8::1'));
  assert.ok(x509.checkHost('a.example'));
  assert.ok((x509.subjectAltName ?? '').includes('IP Address:0:0:0:0:0:FFFF:C000:201'), x509.subjectAltName);
});

test('a CA issues certificates that chain to it', () => {
  const ca = generateCertificate({ commonName: 'burrow test CA', isCA: true });
  const leaf = generateCertificate({ commonName: 'client-1', issuer: ca });
  const caX509 = new X509Certificate(ca.cert);
  const leafX509 = new X509Certificate(leaf.cert);
  assert.equal(caX509.ca, true);
  assert.equal(leafX509.issuer, 'CN=burrow test CA');
  assert.equal(leafX509.subject, 'CN=client-1');
  assert.ok(leafX509.checkIssued(caX509));
  assert.ok(leafX509.verify(caX509.publicKey));
  assert.equal(leafX509.verify(leafX509.publicKey), false);
  assert.ok(leafX509.checkPrivateKey(createPrivateKey(leaf.key)));
});

test('bad options raise BURROW_CONFIG_INVALID', () => {
  const invalid = (err: unknown): boolean => isBurrowError(err, 'BURROW_CONFIG_INVALID');
  assert.throws(() => generateCertificate({ days: 0 }), invalid);
  assert.throws(() => generateCertificate({ days: 1.5 }), invalid);
  assert.throws(() => generateCertificate({ commonName: '' }), invalid);
  assert.throws(() => generateCertificate({ commonName: 'x'.repeat(65) }), invalid);
  assert.throws(() => generateCertificate({ altNames: ['not a host'] }), invalid);
  const notCa = generateSelfSignedCertificate();
  assert.throws(() => generateCertificate({ issuer: notCa }), invalid);
  const ca = generateCertificate({ isCA: true });
  assert.throws(() => generateCertificate({ issuer: { cert: ca.cert, key: notCa.key } }), invalid);
  assert.throws(() => generateCertificate({ issuer: { cert: 'garbage', key: ca.key } }), invalid);
});

test('a real TLS server with the generated certificate serves a verifying client', async () => {
  const { cert, key } = generateSelfSignedCertificate({ commonName: 'localhost' });
  const server = tls.createServer({ cert, key }, (socket) => socket.end('hello over tls'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const client = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert });
    await once(client, 'secureConnect');
    assert.equal(client.authorized, true, String(client.authorizationError));
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(client, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hello over tls');
    client.destroy();
  } finally {
    server.close();
  }
});

test('two servers started from one folder at once share the certificate the first one saved', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { spawn } = await import('node:child_process');
  const { GENERATED_CERT_FILE, GENERATED_KEY_FILE, loadOrCreateServerCertificate } = await import('../../src/transport/generated-cert.js');
  const dir = mkdtempSync(join(tmpdir(), 'burrow-cert-race-'));
  try {
    // The other server has written its key and is about to write its certificate (another process, so our synchronous wait cannot stall it).
    const pair = generateSelfSignedCertificate({ commonName: 'burrow' });
    writeFileSync(join(dir, GENERATED_KEY_FILE), pair.key, { mode: 0o600 });
    const writer = spawn(process.execPath, [
      '-e',
      `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(join(dir, GENERATED_CERT_FILE))}, ${JSON.stringify(pair.cert)}), 300)`,
    ]);
    const loaded = loadOrCreateServerCertificate(dir);
    assert.equal(loaded.source, 'loaded');
    assert.equal(loaded.cert, pair.cert, "the first server's certificate, not a second one");
    await once(writer, 'exit');
    // A key left alone (a crash between the two writes) is still reported, after the short wait.
    rmSync(join(dir, GENERATED_CERT_FILE));
    assert.throws(
      () => loadOrCreateServerCertificate(dir),
      (err: unknown) => isBurrowError(err, 'BURROW_CONFIG_INVALID') && /only one of/.test(String(err)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
