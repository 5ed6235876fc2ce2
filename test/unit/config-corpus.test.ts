import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadClientConfig, loadConfigFile, loadServerConfig } from '../../src/config/load.js';

/**
 * Real-world-shaped configurations, each written once as legacy INI and once as
 * TOML (some also as YAML/JSON): every pair must load into the same object.
 */
const DIR = join(import.meta.dirname, '..', 'fixtures', 'configs');
const ENV = { FRP_SERVER_ADDR: 'frp.example.com', FRP_TOKEN: 'tok#en', WEB_PORT: '8000', FRP_SUBDOMAIN: 'me' };

const iniFiles = readdirSync(DIR)
  .filter((f) => f.endsWith('.ini'))
  .sort();

describe('INI and TOML versions of the corpus load into the same configuration', () => {
  for (const ini of iniFiles) {
    const base = ini.slice(0, -'.ini'.length);
    for (const ext of ['toml', 'yaml', 'json']) {
      const other = `${base}.${ext}`;
      if (!existsSync(join(DIR, other))) continue;
      test(`${ini} = ${other}`, () => {
        const a = loadConfigFile(join(DIR, ini), { env: ENV });
        const b = loadConfigFile(join(DIR, other), { env: ENV });
        assert.equal(a.kind, b.kind);
        assert.equal(a.format, 'ini');
        if (base.startsWith('includes.')) {
          // Each version includes its own format; everything else is equal.
          assert.deepEqual({ ...a.config, includes: [] }, { ...b.config, includes: [] });
        } else {
          assert.deepEqual(a.config, b.config);
        }
        assert.deepEqual(a.warnings, []);
        assert.ok(Object.isFrozen(a.config));
      });
    }
  }
});

describe('what the corpus files mean', () => {
  test('the NAS ssh tutorial: frpc and frps', () => {
    const c = loadClientConfig(join(DIR, 'nas-ssh.frpc.ini'));
    assert.equal(c.serverAddr, '203.0.113.10');
    assert.equal(c.serverPort, 7000);
    assert.equal(c.auth.token, '12345678');
    assert.deepEqual(
      c.proxies.map((p) => [p.name, p.type, p.localIP, p.localPort, p.remotePort]),
      [['ssh', 'tcp', '192.168.1.20', 22, 6000]],
    );
    const s = loadServerConfig(join(DIR, 'nas-ssh.frps.ini'));
    assert.equal(s.bindPort, 7000);
    assert.deepEqual([s.webServer.addr, s.webServer.port], ['0.0.0.0', 7500], 'frps.ini dashboards listen on 0.0.0.0');
  });

  test('WeChat development: an http proxy behind vhost port 80 with a custom domain', () => {
    const c = loadClientConfig(join(DIR, 'wechat-http.frpc.ini'));
    const p = c.proxies[0]!;
    assert.equal(p.type, 'http');
    assert.deepEqual(p.customDomains, ['wx.example.com', 'api.wx.example.com']);
    assert.deepEqual(p.locations, ['/wx', '/callback']);
    assert.deepEqual(p.requestHeaders, { set: { 'X-From-Where': 'frp' } });
    assert.equal(p.remotePort, 0);
    assert.equal(c.auth.token, 'wx-dev-token', 'surrounding quotes removed');
    assert.equal(loadServerConfig(join(DIR, 'wechat-http.frps.ini')).vhostHTTPPort, 80);
  });

  test('a token containing # and ; is kept whole in INI', () => {
    const c = loadClientConfig(join(DIR, 'hash-token.frpc.ini'));
    assert.equal(c.auth.token, 'p@ss#word;1 # not a comment');
    assert.deepEqual(c.proxies[0]!.metadatas, { owner: 'alice#home' });
  });

  test('stcp owner and visitor, xtcp visitor with fallback', () => {
    const owner = loadClientConfig(join(DIR, 'stcp-owner.frpc.ini'));
    assert.deepEqual([owner.proxies[0]!.secretKey, owner.proxies[0]!.allowUsers], ['abcdefg', ['home', 'laptop']]);
    const v = loadClientConfig(join(DIR, 'stcp-visitor.frpc.ini')).visitors;
    assert.deepEqual(
      v.map((x) => [x.name, x.type, x.serverName, x.serverUser, x.bindPort]),
      [
        ['secret_ssh_visitor', 'stcp', 'secret_ssh', 'office', 6000],
        ['p2p_ssh_visitor', 'xtcp', 'p2p_ssh', '', 6001],
      ],
    );
    assert.equal(v[0]!.protocol, undefined, 'xtcp-only keys are absent on stcp visitors');
    assert.deepEqual([v[1]!.keepTunnelOpen, v[1]!.fallbackTo, v[1]!.fallbackTimeoutMs, v[1]!.protocol], [true, 'secret_ssh_visitor', 500, 'quic']);
  });

  test('environment templating renders before parsing, in INI and TOML alike', () => {
    const c = loadClientConfig(join(DIR, 'env-template.frpc.toml'), { env: ENV });
    assert.deepEqual(
      [c.serverAddr, c.auth.token, c.user, c.proxies[0]!.localPort, c.proxies[0]!.subdomain],
      ['frp.example.com', 'tok#en', 'guest', 8000, 'me'],
    );
    const warnings: string[] = [];
    const loose = loadClientConfig(join(DIR, 'env-template.frpc.ini'), { env: { WEB_PORT: '1' }, onWarning: (w) => warnings.push(w) });
    assert.equal(loose.serverAddr, '<no value>');
    assert.deepEqual(
      warnings.map((w) => w.slice(0, 40)),
      ['line 2: environment variable FRP_SERVER_', 'line 4: environment variable FRP_TOKEN i', 'line 10: environment variable FRP_SUBDOM'],
    );
  });

  test('includes: matched files add proxies and visitors, in name order', () => {
    for (const f of ['includes.frpc.ini', 'includes.frpc.toml']) {
      const c = loadClientConfig(join(DIR, f));
      assert.deepEqual(
        c.proxies.map((p) => p.name),
        ['main_ssh', 'web'],
        f,
      );
      assert.deepEqual(
        c.visitors.map((v) => v.name),
        ['db_visitor'],
        f,
      );
    }
  });

  test('the full frps.ini maps every key of the table', () => {
    const s = loadServerConfig(join(DIR, 'full.frps.ini'));
    assert.deepEqual(s.allowPorts, [
      { start: 2000, end: 3000 },
      { start: 3001, end: 3001 },
      { start: 3003, end: 3003 },
      { start: 4000, end: 50000 },
    ]);
    assert.deepEqual(s.webServer.tls, { certFile: '/etc/frp/dash.crt', keyFile: '/etc/frp/dash.key', trustedCaFile: '' });
    assert.deepEqual(s.auth.additionalScopes, ['HeartBeats']);
    // Keys burrow refuses (pprof_enable, tcp_keepalive, [plugin.NAME], …) are mapped in config-ini.test.ts
    // and classified in config-keys-corpus.test.ts.
    assert.deepEqual(s.transport.quic, { keepalivePeriod: 15, maxIdleTimeout: 40, maxIncomingStreams: 5000 });
    assert.deepEqual([s.log.to, s.log.level, s.log.maxDays, s.log.disablePrintColor], ['/var/log/frps.log', 'debug', 7, true]);
  });
});
