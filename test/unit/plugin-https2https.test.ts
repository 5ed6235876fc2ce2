import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createHttps2HttpsPlugin } from '../../src/plugin/https2https.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { httpsGet, listenHttp, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

describe('plugin https2https', () => {
  let backend: https.Server;
  let harness: PluginHarness;

  before(async () => {
    backend = https.createServer(generateSelfSignedCertificate({ commonName: 'backend' }), (req, res) => {
      res.end(JSON.stringify({ xff: req.headers['x-forwarded-for'], host: req.headers.host, set: req.headers['x-set'] }));
    });
    const port = await listenHttp(backend);
    // No crtPath/keyPath: a generated certificate, as frp.
    const plugin = createHttps2HttpsPlugin(
      { type: 'https2https', localAddr: `127.0.0.1:${port}`, hostHeaderRewrite: 'inner.local', requestHeaders: { set: { 'x-set': 'v' } }, enableHTTP2: false },
      testContext().context,
    );
    harness = await servePlugin(plugin, { source: { address: '5.6.7.8', port: 4000 } });
  });

  after(async () => {
    await harness.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
  });

  it('terminates TLS with a generated certificate and forwards over HTTPS with rewrites', async () => {
    const res = await httpsGet(harness.port, { host: 'example.com', 'x-forwarded-for': '2.2.2.2' });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { xff: '2.2.2.2, 5.6.7.8', host: 'inner.local', set: 'v' });
    assert.equal(res.cert.subject?.CN, 'burrow-plugin');
  });

  it('answers 421 for a Host that is not the SNI name (bad input)', async () => {
    const res = await httpsGet(harness.port, { host: 'elsewhere' });
    assert.equal(res.status, 421);
  });
});
