import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createStaticFilePlugin } from '../../src/plugin/static-file.js';
import { rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('plugin static_file', () => {
  let root: string;
  let outside: string;
  let plain: PluginHarness;
  let guarded: PluginHarness;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'plugin-static-'));
    outside = mkdtempSync(join(tmpdir(), 'plugin-outside-'));
    writeFileSync(join(root, 'test_static_file'), 'foo');
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'a.txt'), 'inner');
    writeFileSync(join(outside, 'secret.txt'), 'do not serve');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    plain = await servePlugin(createStaticFilePlugin({ type: 'static_file', localPath: root }, testContext().context), {}, true);
    guarded = await servePlugin(
      createStaticFilePlugin({ type: 'static_file', localPath: root, stripPrefix: 'static', httpUser: 'abc', httpPassword: '123' }, testContext().context),
    );
  });

  after(async () => {
    await plain.close();
    await guarded.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves a file (frp e2e: /test_static_file is "foo")', async () => {
    const res = await get(plain.port, '/test_static_file');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'foo');
    assert.equal(res.headers['content-length'], '3');
  });

  it('gzips when the visitor accepts it', async () => {
    const res = await get(plain.port, '/sub/a.txt', { 'accept-encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(res.body).toString(), 'inner');
  });

  it('redirects a directory to its slash form and lists it', async () => {
    const redirect = await get(plain.port, '/sub');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, 'sub/');
    const listing = await get(plain.port, '/sub/');
    assert.match(listing.body.toString(), /<a href="a.txt">a.txt<\/a>/);
  });

  it('refuses path traversal with 400 and links out of the directory with 404', async () => {
    assert.match(await rawExchange(plain.port, 'GET /../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(plain.port, 'GET /sub/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(plain.port, 'GET /%zz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /);
    const link = await get(plain.port, '/link.txt');
    assert.equal(link.status, 404);
    assert.ok(!link.body.toString().includes('do not serve'));
  });

  it('asks for Basic auth (401, realm Restricted) and serves under stripPrefix with it', async () => {
    const refused = await get(guarded.port, '/static/test_static_file');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'Basic realm="Restricted"');
    const auth = `Basic ${Buffer.from('abc:123').toString('base64')}`;
    const ok = await get(guarded.port, '/static/test_static_file', { authorization: auth });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'foo');
    assert.equal((await get(guarded.port, '/test_static_file', { authorization: auth })).status, 404);
  });

  it('answers 405 to other methods and 400 to a malformed request', async () => {
    assert.match(await rawExchange(plain.port, 'DELETE /test_static_file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 405 /);
    assert.match(await rawExchange(plain.port, 'GET\r\n\r\n'), /^HTTP\/1\.1 400 /);
  });
});
