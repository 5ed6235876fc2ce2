import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OidcClientCredentials } from '../../src/client/auth/oidc-client-credentials.js';
import { boundedHttpRequest } from '../../src/transport/http-request.js';
import { generateCertificate } from '../../src/transport/self-signed-cert.js';
import { startConnectProxy, startSocks5Proxy } from '../helpers/proxies.js';
import { whenDone } from '../helpers/tunnel.js';

/**
 * The one HTTP request OIDC makes (discovery, key set, token): every wait and
 * size bounded, TLS verified unless told otherwise, and through the
 * configured proxy. Real sockets on 127.0.0.1.
 */
async function serve(t: TestContext, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  whenDone(
    t,
    () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

const tokenAnswer = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ access_token: 'tok', expires_in: 60 }));
};

const baseOidc = {
  clientID: 'id',
  clientSecret: 'secret',
  audience: '',
  scope: '',
  additionalEndpointParams: {},
  trustedCaFile: '',
  insecureSkipVerify: false,
  proxyURL: '',
};

describe('the bounded OIDC request', () => {
  test('an answer over maxBytes is refused, declared or streamed', async (t) => {
    const port = await serve(
      t,
      http.createServer((req, res) => {
        if (req.url === '/declared') res.setHeader('content-length', '5000');
        res.write(Buffer.alloc(5000, 0x61));
        res.end();
      }),
    );
    for (const path of ['/declared', '/streamed']) {
      await assert.rejects(
        boundedHttpRequest({ url: `http://127.0.0.1:${port}${path}`, method: 'GET', timeoutMs: 5000, maxBytes: 1024 }),
        (err: Error & { code?: string }) => err.code === 'BURROW_HTTP_BAD_RESPONSE' && /the answer is larger than 1024 bytes/.test(err.message),
      );
    }
    const ok = await boundedHttpRequest({ url: `http://127.0.0.1:${port}/streamed`, method: 'GET', timeoutMs: 5000, maxBytes: 5000 });
    assert.equal(ok.body.length, 5000);
  });

  test('a server that never answers is given up on at the timeout', async (t) => {
    const port = await serve(
      t,
      http.createServer(() => {}),
    );
    await assert.rejects(
      boundedHttpRequest({ url: `http://127.0.0.1:${port}/`, method: 'GET', timeoutMs: 300, maxBytes: 1024 }),
      /GET http:\/\/127\.0\.0\.1:\d+\/: no complete answer within \d+ ms/,
    );
  });

  test('https: an unknown certificate is refused; trustedCaFile or insecureSkipVerify let it through', async (t) => {
    const ca = generateCertificate({ commonName: 'oidc test CA', isCA: true });
    const leaf = generateCertificate({ commonName: 'idp.test', altNames: ['127.0.0.1'], issuer: ca });
    const port = await serve(t, https.createServer({ cert: leaf.cert, key: leaf.key }, tokenAnswer));
    const url = `https://127.0.0.1:${port}/token`;
    await assert.rejects(new OidcClientCredentials({ ...baseOidc, tokenEndpointURL: url }).token(), /certificate/);
    const dir = mkdtempSync(join(tmpdir(), 'burrow-oidc-ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    assert.equal(await new OidcClientCredentials({ ...baseOidc, tokenEndpointURL: url, trustedCaFile: caFile }).token(), 'tok');
    assert.equal(await new OidcClientCredentials({ ...baseOidc, tokenEndpointURL: url, insecureSkipVerify: true }).token(), 'tok');
    assert.throws(
      () => new OidcClientCredentials({ ...baseOidc, tokenEndpointURL: url, trustedCaFile: join(dir, 'missing.pem') }),
      /auth\.oidc\.trustedCaFile: cannot read/,
    );
  });

  test('auth.oidc.proxyURL: the token request goes through an HTTP CONNECT or SOCKS5 proxy', async (t) => {
    const port = await serve(t, http.createServer(tokenAnswer));
    for (const start of [startConnectProxy, startSocks5Proxy]) {
      const proxy = await start();
      whenDone(t, () => proxy.close());
      const scheme = start === startConnectProxy ? 'http' : 'socks5';
      const flow = new OidcClientCredentials({
        ...baseOidc,
        tokenEndpointURL: `http://127.0.0.1:${port}/token`,
        proxyURL: `${scheme}://127.0.0.1:${proxy.port}`,
      });
      assert.equal(await flow.token(), 'tok');
      assert.equal(proxy.seen.length, 1, `${scheme}: ${proxy.seen.join(', ')}`);
      assert.match(proxy.seen[0] ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
    }
  });
});
