import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createHttp2HttpsPlugin } from '../../src/plugin/http2https.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { listenHttp, rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

describe('plugin http2https', () => {
  let backend: https.Server;
  let harness: PluginHarness;

  before(async () => {
    backend = https.createServer(generateSelfSignedCertificate({ commonName: 'backend' }), (req, res) => {
      res.end(JSON.stringify({ xff: req.headers['x-forwarded-for'], xfp: req.headers['x-forwarded-proto'] ?? null, host: req.headers.host }));
    });
    const port = await listenHttp(backend);
    harness = await servePlugin(
      createHttp2HttpsPlugin({ type: 'http2https', localAddr: `127.0.0.1:${port}` }, testContext().context),
      { source: { address: '9.9.9.9', port: 1 } },
      true,
    );
  });

  after(async () => {
    await harness.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
  });

  it('forwards to an HTTPS service and keeps the incoming X-Forwarded-For unchanged (frp e2e real_ip)', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: harness.port,
          path: '/',
          headers: { host: 'normal.example.com', 'x-forwarded-for': '2.2.2.2, 3.3.3.3, 127.0.0.1' },
          agent: false,
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(body), { xff: '2.2.2.2, 3.3.3.3, 127.0.0.1', xfp: null, host: 'normal.example.com' });
  });

  it('answers 400 to a request line that is not HTTP', async () => {
    assert.match(await rawExchange(harness.port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /);
  });
});
