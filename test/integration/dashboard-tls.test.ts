import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { showClientStatus } from '../../src/cli/client-admin-commands.js';
import { adminRequest } from '../../src/cli/admin-requests.js';
import { buildClientConfig } from '../../src/config/load.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { silentLogger } from '../../src/util/logger.js';
import { startServer } from '../helpers/tunnel.js';

function writePair(dir: string, name: string): { certFile: string; keyFile: string } {
  const pair = generateSelfSignedCertificate({ commonName: 'dashboard.example' });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key);
  return { certFile, keyFile };
}

/** One HTTPS GET that accepts any certificate: what a browser does after the user accepted it. */
function httpsGet(port: number, path: string, auth?: string): Promise<{ status: number; body: string; cert: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port, path, headers, rejectUnauthorized: false }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('server dashboard with webServer.tls answers HTTPS with the configured certificate, and not plain HTTP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-dash-tls-'));
  const tls = writePair(dir, 'dash');
  const server = await startServer();
  const dash = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: 'admin',
    password: 'pw',
    enablePrometheus: false,
    logger: silentLogger,
    tls,
  });
  try {
    const ok = await httpsGet(dash.port, '/api/serverinfo', 'admin:pw');
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { bindPort: number }).bindPort, server.port);
    const { X509Certificate } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    assert.ok(ok.cert?.equals(new X509Certificate(readFileSync(tls.certFile)).raw), 'the certificate of webServer.tls.certFile is served');
    assert.equal((await httpsGet(dash.port, '/api/serverinfo', 'admin:wrong')).status, 401);
    // Plain HTTP on the TLS port gets no API answer.
    const plain = await new Promise<string>((resolve) => {
      const req = get({ host: '127.0.0.1', port: dash.port, path: '/api/serverinfo' }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (err) => resolve(`error ${err.message}`));
    });
    assert.doesNotMatch(plain, /status 200/);
  } finally {
    await dash.close();
    await server.stop();
  }
});

test('client admin with webServer.tls: HTTPS, and frpc status talks HTTPS to it, trusting only the configured certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-admin-tls-'));
  const tls = writePair(dir, 'admin');
  const other = writePair(dir, 'other');
  const config = buildClientConfig({ serverAddr: '127.0.0.1', serverPort: 1, loginFailExit: false });
  const client = new BurrowClient(config, silentLogger);
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: 'u', password: 'p', logger: silentLogger, stop: () => {}, tls });
  try {
    const web = { addr: '127.0.0.1', port: admin.port, user: 'u', password: 'p', tls: { ...tls, trustedCaFile: '' } };
    const answer = await adminRequest(web, 'GET', '/api/status');
    assert.equal(answer.status, 200);
    assert.equal(typeof JSON.parse(answer.text), 'object', 'the status JSON arrives');
    await showClientStatus(web);
    // A file naming another certificate: the request is refused before any credential is sent.
    await assert.rejects(
      adminRequest({ ...web, tls: { ...other, trustedCaFile: '' } }, 'GET', '/api/status'),
      /Get "https:\/\/127\.0\.0\.1:\d+\/api\/status": .*not the one in webServer\.tls\.certFile/,
    );
    // Without tls in the file, the command speaks plain HTTP (as frpc) and gets no status.
    const plain = await adminRequest({ ...web, tls: undefined }, 'GET', '/api/status').then(
      (a) => `status ${a.status}`,
      (err: Error) => err.message,
    );
    assert.doesNotMatch(plain, /status 200/);
  } finally {
    client.stop();
    await admin.close();
  }
});
