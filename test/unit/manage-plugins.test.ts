import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManagePlugins } from '../../src/server/manage-plugins/manager.js';
import { silentLogger } from '../../src/util/logger.js';
import { buildServerConfig } from '../../src/config/load.js';
import { parseAnswer } from '../../src/server/manage-plugins/http-plugin.js';
import { isBurrowError } from '../../src/util/errors.js';
import { problems } from '../helpers/config.js';

describe('server plugin answers', () => {
  test('keys match ignoring case and nulls read as absent, as Go decodes them', () => {
    assert.deepEqual(parseAnswer('{"Reject":true,"REJECT_REASON":"no","unchange":null}'), {
      reject: true,
      rejectReason: 'no',
      unchange: false,
      content: undefined,
    });
    assert.deepEqual(parseAnswer('{"unchange":false,"content":{"remote_port":7000}}').content, { remote_port: 7000 });
  });

  test('a wrongly typed field, a non-object or broken JSON is a plugin failure', () => {
    for (const text of ['{"reject":"yes"}', '{"reject_reason":5}', '[]', 'null', '{"reject":']) {
      assert.throws(
        () => parseAnswer(text),
        (err: unknown) => isBurrowError(err, 'BURROW_PLUGIN_FAILED'),
        text,
      );
    }
  });
});

describe('httpPlugins config', () => {
  const plugin = { name: 'p', addr: '127.0.0.1:9000', path: '/handler', ops: ['Login'] };

  test('a plugin loads, with or without a scheme, tlsVerify off unless set (as frp)', () => {
    const cfg = buildServerConfig({ httpPlugins: [plugin, { ...plugin, name: 'q', addr: 'https://127.0.0.1:9443', tlsVerify: true }] });
    assert.deepEqual(
      cfg.httpPlugins.map((p) => [p.name, p.tlsVerify]),
      [
        ['p', false],
        ['q', true],
      ],
    );
  });

  test('an address that makes no URL, an unknown op and a duplicate name are refused, naming the key', () => {
    assert.match(problems(() => buildServerConfig({ httpPlugins: [{ ...plugin, addr: 'bad host:1' }] })).join('\n'), /httpPlugins\[0\]\.addr/);
    assert.match(problems(() => buildServerConfig({ httpPlugins: [{ ...plugin, ops: ['Logout'] }] })).join('\n'), /httpPlugins\[0\]\.ops/);
    assert.match(problems(() => buildServerConfig({ httpPlugins: [plugin, plugin] })).join('\n'), /httpPlugins\[1\]\.name.*duplicate/);
  });
});

describe('changed content from a plugin that knows only frp fields', () => {
  test("burrow's own NewProxy fields (sso, IP lists) the answer lacks are carried over; those it sets are kept", async (t) => {
    // As a Go plugin answers: frp's struct re-encoded, with remote_port changed and no burrow_* keys.
    const plugin = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { content } = JSON.parse(Buffer.concat(chunks).toString()) as { content: Record<string, unknown> };
        const frpOnly = Object.fromEntries(Object.entries(content).filter(([k]) => !k.startsWith('burrow_') && k !== 'user'));
        const extra = content.proxy_name === 'keeps' ? { burrow_deny_ips: ['10.0.0.0/8'] } : {};
        res.end(JSON.stringify({ unchange: false, content: { ...frpOnly, ...extra, remote_port: 7001 } }));
      });
    });
    plugin.listen(0, '127.0.0.1');
    await once(plugin, 'listening');
    t.after(() => new Promise((r) => plugin.close(r)));
    const settings = buildServerConfig({
      httpPlugins: [{ name: 'go', addr: `127.0.0.1:${(plugin.address() as AddressInfo).port}`, path: '/h', ops: ['NewProxy'] }],
    }).httpPlugins;
    const plugins = new ManagePlugins(settings, 10_000, silentLogger);
    t.after(() => plugins.close());
    const sso = { issuer: 'https://login.example.com', client_id: 'a', client_secret: 'b', allowed_emails: ['a@b.c'] };
    const user = { user: '', metas: {}, run_id: 'r' };
    const msg = { proxy_name: 'web', proxy_type: 'tcp', remote_port: 7000, burrow_sso: sso, burrow_allow_ips: ['127.0.0.1'], burrow_deny_ips: ['10.0.0.1'] };
    const out = await plugins.newProxy(user, msg);
    assert.equal(out.remote_port, 7001);
    assert.deepEqual(out.burrow_sso, sso);
    assert.deepEqual(out.burrow_allow_ips, ['127.0.0.1']);
    assert.deepEqual(out.burrow_deny_ips, ['10.0.0.1']);
    assert.deepEqual((await plugins.newProxy(user, { ...msg, proxy_name: 'keeps' })).burrow_deny_ips, ['10.0.0.0/8']);
  });
});
