/**
 * QUIC's certificate checks (src/transport/quic/quic-verify.ts) over DER
 * chains: they must judge as the TCP path does, frp's same-subject leaves
 * included, since quiche's own verifier is not used.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { certificateFingerprint } from '../../src/transport/generated-cert.js';
import { parseCaBundle } from '../../src/transport/peer-verify.js';
import { chainRejection, fingerprintRejection } from '../../src/transport/quic/quic-verify.js';
import { generateCertificate } from '../../src/transport/self-signed-cert.js';

const der = (pem: string): Uint8Array => new X509Certificate(pem).raw;
const ca = generateCertificate({ commonName: 'burrow test CA', isCA: true });
const otherCa = generateCertificate({ commonName: 'some other CA', isCA: true });
const server = generateCertificate({ commonName: 'tunnel.example', altNames: ['127.0.0.1'], issuer: ca });
const stranger = generateCertificate({ commonName: 'tunnel.example', issuer: otherCa });

test('a leaf signed by the trusted CA passes, its name checked against the server name', () => {
  const cas = parseCaBundle(ca.cert);
  assert.equal(chainRejection([der(server.cert)], { cas, role: 'server', host: 'tunnel.example' }), undefined);
  assert.equal(chainRejection([der(server.cert)], { cas, role: 'server', host: '127.0.0.1' }), undefined);
  assert.match(chainRejection([der(server.cert)], { cas, role: 'server', host: 'elsewhere.example' }) ?? '', /elsewhere\.example/);
});

test('a leaf from another CA, no certificate, or an over-long chain is refused with the reason', () => {
  const cas = parseCaBundle(ca.cert);
  assert.equal(chainRejection([der(stranger.cert)], { cas, role: 'client' }), 'certificate signed by unknown authority');
  // Sending the foreign CA along does not make it trusted.
  assert.equal(chainRejection([der(stranger.cert), der(otherCa.cert)], { cas, role: 'client' }), 'certificate signed by unknown authority');
  assert.equal(chainRejection([], { cas, role: 'client' }), 'the peer sent no certificate');
  assert.match(chainRejection(Array(9).fill(der(server.cert)), { cas, role: 'client' }) ?? '', /9 certificates/);
  assert.equal(chainRejection([new Uint8Array([0x30, 0x03, 1, 2, 3])], { cas, role: 'client' }), 'the peer sent a certificate that does not parse');
});

test("frp's same-subject leaf passes as Go accepts it; a self-signed impostor with that subject does not", () => {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'tls-same-subject');
  const cas = parseCaBundle(readFileSync(join(dir, 'ca.crt')));
  const leaf = der(readFileSync(join(dir, 'leaf.crt'), 'utf8'));
  const impostor = der(readFileSync(join(dir, 'impostor.crt'), 'utf8'));
  assert.equal(chainRejection([leaf], { cas, role: 'server', host: 'example.com' }), undefined);
  assert.equal(chainRejection([leaf], { cas, role: 'client' }), undefined);
  assert.equal(chainRejection([impostor], { cas, role: 'server', host: 'example.com' }), 'certificate signed by unknown authority');
  assert.equal(chainRejection([impostor, impostor], { cas, role: 'server', host: 'example.com' }), 'certificate signed by unknown authority');
});

test('a pinned fingerprint matches in any accepted spelling, and a mismatch names what was presented', () => {
  const pin = certificateFingerprint(server.cert);
  assert.equal(fingerprintRejection([der(server.cert)], pin), undefined);
  assert.equal(
    fingerprintRejection(
      [der(server.cert)],
      pin
        .replace(/^sha256:/, '')
        .replace(/:/g, '')
        .toLowerCase(),
    ),
    undefined,
  );
  assert.equal(fingerprintRejection([der(stranger.cert)], pin), certificateFingerprint(stranger.cert));
  assert.equal(fingerprintRejection([], pin), 'no certificate');
});
