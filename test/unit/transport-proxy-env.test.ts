import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyFromEnvironment } from '../../src/transport/proxy-url.js';

test('http_proxy from the environment, as frpc, but never for loopback or no_proxy hosts', () => {
  const proxy = 'http://u:p@proxy.corp:3128';
  assert.equal(proxyFromEnvironment('frp.example.com', {}), undefined, 'nothing set');
  assert.equal(proxyFromEnvironment('frp.example.com', { http_proxy: proxy }), proxy);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'demo.localhost', '::1', '[::1]']) {
    assert.equal(proxyFromEnvironment(host, { http_proxy: proxy }), undefined, host);
  }
  const env = { http_proxy: proxy, no_proxy: 'internal.corp, .lan,10.0.0.5:7000' };
  assert.equal(proxyFromEnvironment('internal.corp', env), undefined);
  assert.equal(proxyFromEnvironment('frp.internal.corp', env), undefined, 'a listed domain covers its subdomains');
  assert.equal(proxyFromEnvironment('nas.lan', env), undefined);
  assert.equal(proxyFromEnvironment('10.0.0.5', env), undefined);
  assert.equal(proxyFromEnvironment('notinternal.corp', env), proxy, 'a suffix match needs the dot');
  assert.equal(proxyFromEnvironment('frp.example.com', { http_proxy: proxy, NO_PROXY: '*' }), undefined);
});
