import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clientSchema } from '../../src/config/client-schema.js';
import { parseIni } from '../../src/config/ini.js';
import { mapClientIni, mapServerIni } from '../../src/config/ini-map.js';
import { buildClientConfig, buildServerConfig, loadConfigFile } from '../../src/config/load.js';
import { isPlainObject, type SchemaNode } from '../../src/config/schema-engine.js';
import { serverSchema } from '../../src/config/server-schema.js';
import { parseTomlText } from '../../src/config/toml.js';
import { problems } from '../helpers/config.js';

/**
 * The inventory of issue 18: every key in frp 0.70.0's own full example
 * configurations (frpc and frps, TOML and legacy INI, test/fixtures/frp-0.70.0/conf)
 * is either implemented (where it takes effect), or refused at load with an
 * error naming it. A key that appears in the corpus and not in these tables
 * fails the test, so a new one must be classified.
 *
 * Keys are TOML paths (INI keys are mapped to them first); `[]` is any list item.
 */
type Status =
  /** takes effect in this file (which must mention the key's last name, or `mentions`) */
  | { at: string; note?: string; mentions?: string }
  /** refused at load when set to `value`; the error starts with the key's path */
  | { refused: unknown }
  /** only read when another key has a value that is itself refused */
  | { via: string; value: unknown }
  /** loads; the server warns at start that it is not served */
  | { warned: string }
  /** burrow always behaves as the key asks at any value */
  | { noop: string };

const NEW_PROXY = 'src/client/new-proxy.ts';
const PLUGIN = { at: 'src/plugin/registry.ts', note: 'client plugins (PLUGIN helper wires them into the proxies)' } as const;
const MANAGE_PLUGIN = 'src/server/manage-plugins/http-plugin.ts';
const WIRE = (at: string) => ({ at, note: 'WIRE helper' }) as const;

const CLIENT: Record<string, Status> = {
  serverAddr: { at: 'src/client/server-connection.ts' },
  serverPort: { at: 'src/client/server-connection.ts' },
  user: { at: 'src/client/login.ts' },
  clientID: { at: 'src/client/login.ts' },
  loginFailExit: { at: 'src/client/client.ts' },
  metadatas: { at: 'src/client/login.ts' },
  udpPacketSize: { at: 'src/protocol/udp-packet.ts', note: 'burrow carries whole datagrams (docs/decisions.md)' },
  'log.to': { at: 'src/cli/burrow-command.ts' },
  'log.level': { at: 'src/cli/burrow-command.ts' },
  'log.maxDays': { at: 'src/util/log-file.ts' },
  'log.disablePrintColor': { noop: 'burrow never colours its log' },
  'auth.method': { at: 'src/client/auth/client-auth.ts' },
  'auth.token': { at: 'src/client/auth/client-auth.ts' },
  'auth.oidc.clientID': { at: 'src/client/auth/oidc-client-credentials.ts' },
  'auth.oidc.clientSecret': { at: 'src/client/auth/oidc-client-credentials.ts' },
  'auth.oidc.audience': { at: 'src/client/auth/oidc-client-credentials.ts' },
  'auth.oidc.scope': { at: 'src/client/auth/oidc-client-credentials.ts' },
  'auth.oidc.tokenEndpointURL': { at: 'src/client/auth/oidc-client-credentials.ts' },
  'webServer.addr': { at: 'src/cli/burrow-command.ts' },
  'webServer.port': { at: 'src/cli/burrow-command.ts' },
  'webServer.user': { at: 'src/admin/client-api.ts' },
  'webServer.password': { at: 'src/admin/client-api.ts' },
  'webServer.pprofEnable': { refused: true },
  'webServer.tls.certFile': { at: 'src/admin/api-server.ts' },
  'webServer.tls.keyFile': { at: 'src/admin/api-server.ts' },
  'transport.poolCount': { at: 'src/client/login.ts' },
  'transport.protocol': { at: 'src/client/server-connection.ts' },
  'transport.connectServerLocalIP': { at: 'src/client/server-connection.ts' },
  'transport.tls.enable': { at: 'src/client/server-connection.ts' },
  'transport.tls.disableCustomTLSFirstByte': { at: 'src/client/server-connection.ts' },
  'proxies[].name': { at: NEW_PROXY },
  'proxies[].type': { at: 'src/proxy/client-registry.ts' },
  'proxies[].localIP': { at: 'src/proxy/shared/local-service.ts' },
  'proxies[].localPort': { at: 'src/proxy/shared/local-service.ts' },
  'proxies[].remotePort': { at: NEW_PROXY },
  'proxies[].transport.useEncryption': { at: 'src/protocol/payload-options.ts' },
  'proxies[].transport.useCompression': { at: 'src/protocol/payload-options.ts' },
  'proxies[].transport.bandwidthLimit': WIRE(NEW_PROXY),
  'proxies[].transport.bandwidthLimitMode': WIRE('src/config/proxy-schema.ts'),
  'proxies[].transport.proxyProtocolVersion': WIRE('src/plugin/connection-info.ts'),
  'proxies[].loadBalancer.group': { at: NEW_PROXY },
  'proxies[].loadBalancer.groupKey': { at: NEW_PROXY },
  'proxies[].healthCheck.type': { at: 'src/client/proxy-set.ts' },
  'proxies[].healthCheck.timeoutSeconds': { at: 'src/client/health-check.ts' },
  'proxies[].healthCheck.maxFailed': { at: 'src/client/health-check.ts' },
  'proxies[].healthCheck.intervalSeconds': { at: 'src/client/health-check.ts' },
  'proxies[].healthCheck.path': { at: 'src/client/health-check.ts' },
  'proxies[].healthCheck.httpHeaders[].name': { at: 'src/client/health-check.ts' },
  'proxies[].healthCheck.httpHeaders[].value': { at: 'src/client/health-check.ts' },
  'proxies[].metadatas': { at: NEW_PROXY },
  'proxies[].annotations': { at: NEW_PROXY },
  'proxies[].httpUser': { at: NEW_PROXY },
  'proxies[].httpPassword': { at: NEW_PROXY },
  'proxies[].subdomain': { at: NEW_PROXY },
  'proxies[].customDomains': { at: NEW_PROXY },
  'proxies[].locations': { at: NEW_PROXY },
  'proxies[].hostHeaderRewrite': { at: NEW_PROXY },
  'proxies[].requestHeaders.set': { at: NEW_PROXY },
  'proxies[].responseHeaders.set': { at: NEW_PROXY },
  'proxies[].multiplexer': { at: NEW_PROXY },
  'proxies[].secretKey': { at: NEW_PROXY },
  'proxies[].allowUsers': { at: NEW_PROXY },
  'proxies[].natTraversal.disableAssistedAddrs': { at: 'src/proxy/xtcp/client.ts' },
  'proxies[].plugin.type': PLUGIN,
  'proxies[].plugin.unixPath': { ...PLUGIN, at: 'src/plugin/unix-domain-socket.ts' },
  'proxies[].plugin.httpUser': { ...PLUGIN, at: 'src/plugin/http-proxy.ts' },
  'proxies[].plugin.httpPassword': { ...PLUGIN, at: 'src/plugin/http-proxy.ts' },
  'proxies[].plugin.username': { ...PLUGIN, at: 'src/plugin/socks5.ts' },
  'proxies[].plugin.password': { ...PLUGIN, at: 'src/plugin/socks5.ts' },
  'proxies[].plugin.localPath': { ...PLUGIN, at: 'src/plugin/static-file.ts' },
  'proxies[].plugin.stripPrefix': { ...PLUGIN, at: 'src/plugin/static-file.ts' },
  'proxies[].plugin.localAddr': { ...PLUGIN, at: 'src/plugin/local-addr.ts' },
  'proxies[].plugin.crtPath': { ...PLUGIN, at: 'src/plugin/tls-certificate.ts' },
  'proxies[].plugin.keyPath': { ...PLUGIN, at: 'src/plugin/tls-certificate.ts' },
  'proxies[].plugin.hostHeaderRewrite': { ...PLUGIN, at: 'src/plugin/reverse-proxy.ts' },
  'proxies[].plugin.requestHeaders.set': { ...PLUGIN, at: 'src/plugin/reverse-proxy.ts' },
  'visitors[].name': { at: 'src/client/visitors.ts' },
  'visitors[].type': { at: 'src/proxy/client-registry.ts' },
  'visitors[].serverName': { at: 'src/proxy/shared/visitor-conn.ts' },
  'visitors[].serverUser': { at: 'src/proxy/shared/visitor-conn.ts' },
  'visitors[].secretKey': { at: 'src/proxy/shared/visitor-conn.ts' },
  'visitors[].bindAddr': { at: 'src/proxy/shared/visitor-listener.ts' },
  'visitors[].bindPort': { at: 'src/proxy/shared/visitor-listener.ts' },
  'visitors[].transport.useEncryption': { at: 'src/proxy/shared/visitor-conn.ts' },
  'visitors[].transport.useCompression': { at: 'src/proxy/shared/visitor-conn.ts' },
  'visitors[].keepTunnelOpen': { at: 'src/proxy/xtcp/visitor.ts' },
  'visitors[].maxRetriesAnHour': { at: 'src/proxy/xtcp/visitor.ts' },
  'visitors[].minRetryInterval': { at: 'src/proxy/xtcp/visitor.ts' },
  'visitors[].natTraversal.disableAssistedAddrs': { at: 'src/proxy/xtcp/visitor.ts' },
  // virtual_net needs a TUN device: refused when the visitor starts, as the proxy plugin of that name.
  'visitors[].plugin.type': { at: 'src/client/visitors.ts', note: 'refused at start, naming plugin.type' },
  'visitors[].plugin.destinationIP': { at: 'src/client/visitors.ts', mentions: 'config.plugin', note: 'refused with plugin.type' },
};

const SERVER: Record<string, Status> = {
  bindAddr: { at: 'src/server/server.ts' },
  bindPort: { at: 'src/server/server.ts' },
  kcpBindPort: { at: 'src/server/server.ts' },
  vhostHTTPPort: { at: 'src/server/proxy-factory.ts' },
  vhostHTTPSPort: { at: 'src/server/proxy-factory.ts' },
  subDomainHost: { at: 'src/server/proxy-factory.ts' },
  enablePrometheus: { at: 'src/cli/run-server.ts' },
  detailedErrorsToClient: { at: 'src/server/control-session.ts' },
  maxPortsPerClient: { at: 'src/server/proxy-factory.ts' },
  allowPorts: { at: 'src/server/port-policy.ts' },
  udpPacketSize: { at: 'src/protocol/udp-packet.ts', note: 'burrow carries whole datagrams (docs/decisions.md)' },
  natholeAnalysisDataReserveHours: { refused: 24 },
  'transport.maxPoolCount': { at: 'src/server/control-session.ts' },
  'transport.tls.force': { at: 'src/server/server.ts' },
  'webServer.addr': { at: 'src/cli/burrow-command.ts' },
  'webServer.port': { at: 'src/cli/burrow-command.ts' },
  'webServer.user': { at: 'src/admin/server-api.ts' },
  'webServer.password': { at: 'src/admin/server-api.ts' },
  'webServer.pprofEnable': { refused: true },
  'webServer.tls.certFile': { at: 'src/admin/api-server.ts' },
  'webServer.tls.keyFile': { at: 'src/admin/api-server.ts' },
  'log.to': { at: 'src/cli/burrow-command.ts' },
  'log.level': { at: 'src/cli/burrow-command.ts' },
  'log.maxDays': { at: 'src/util/log-file.ts' },
  'log.disablePrintColor': { noop: 'burrow never colours its log' },
  'auth.method': { at: 'src/server/auth/verifier.ts' },
  'auth.token': { at: 'src/server/server.ts' },
  'auth.oidc.issuer': { at: 'src/server/auth/oidc-verifier.ts' },
  'auth.oidc.audience': { at: 'src/server/auth/oidc-verifier.ts' },
  'auth.oidc.skipExpiryCheck': { at: 'src/server/auth/oidc-verifier.ts' },
  'auth.oidc.skipIssuerCheck': { at: 'src/server/auth/oidc-verifier.ts' },
  'httpPlugins[].name': { at: MANAGE_PLUGIN },
  'httpPlugins[].addr': { at: MANAGE_PLUGIN },
  'httpPlugins[].path': { at: MANAGE_PLUGIN },
  'httpPlugins[].ops': { at: MANAGE_PLUGIN },
};

/** Keys frp accepts outside its example files that burrow refuses too (the same check). */
const MORE_REFUSED: Record<'client' | 'server', Record<string, unknown>> = {
  client: {
    'webServer.assetsDir': './assets',
    'featureGates.VirtualNet': true,
    'virtualNet.address': '100.86.0.1/24',
  },
  server: {
    'webServer.assetsDir': './assets',
    'transport.tcpKeepalive': 3600,
  },
};

const CONF = join(import.meta.dirname, '..', 'fixtures', 'frp-0.70.0', 'conf');
const ROOT = join(import.meta.dirname, '..', '..');

/** The TOML paths a raw (parsed or INI-mapped) file sets, down to the schema's leaves and maps. */
function keyPaths(node: SchemaNode, value: unknown, path = '', out = new Set<string>()): Set<string> {
  if (node.kind === 'object' && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const child = node.fields[k];
      if (!child) out.add(`${path}${k} (not in burrow's schema)`);
      else keyPaths(child, v, `${path}${k}${child.kind === 'object' ? '.' : ''}`, out);
    }
  } else if (node.kind === 'list' && Array.isArray(value)) {
    for (const item of value) keyPaths(node.item, item, `${path}[]${node.item.kind === 'object' ? '.' : ''}`, out);
  } else {
    out.add(path);
  }
  return out;
}

function corpusKeys(kind: 'client' | 'server'): { file: string; keys: Set<string> }[] {
  const schema = kind === 'client' ? clientSchema : serverSchema;
  const prefix = kind === 'client' ? 'frpc' : 'frps';
  const toml = `${prefix}_full_example.toml`;
  const ini = `${prefix}_legacy_full.ini`;
  const iniFile = { file: parseIni(readFileSync(join(CONF, ini), 'utf8')), label: '' };
  return [
    { file: toml, keys: keyPaths(schema, parseTomlText(readFileSync(join(CONF, toml), 'utf8')).value) },
    { file: ini, keys: keyPaths(schema, (kind === 'client' ? mapClientIni(iniFile) : mapServerIni(iniFile)).raw) },
  ];
}

/** `{ a: { b: v } }` for `a.b`; a path through a list sets its first item (with what that item needs). */
function rawWith(path: string, value: unknown): Record<string, unknown> {
  const m = /^(proxies|visitors)\[\]\.(.*)$/.exec(path);
  if (m) {
    const base = m[1] === 'proxies' ? { name: 'p', localPort: 1 } : { name: 'v', type: 'stcp', serverName: 's', bindPort: 1 };
    return { [m[1]!]: [{ ...base, ...rawWith(m[2]!, value) }] };
  }
  const parts = path.replace(/\[\].*$/, '').split('.');
  return parts.reduceRight<Record<string, unknown>>((inner, key, i) => ({ [key]: i === parts.length - 1 ? value : inner }), {});
}

for (const [kind, table] of [
  ['client', CLIENT],
  ['server', SERVER],
] as const) {
  const build = (raw: Record<string, unknown>) => (kind === 'client' ? buildClientConfig(raw) : buildServerConfig(raw));

  describe(`frp's ${kind} example keys: each implemented or refused`, () => {
    test('every key of the corpus is in the table', () => {
      const missing = corpusKeys(kind).flatMap(({ file, keys }) => [...keys].filter((k) => !(k in table)).map((k) => `${file}: ${k}`));
      assert.deepEqual(missing, [], 'classify each new key in config-keys-corpus.test.ts');
    });

    test('an implemented key points at a file that uses it', () => {
      for (const [key, status] of Object.entries(table)) {
        const at = 'at' in status ? status.at : 'warned' in status ? status.warned : undefined;
        if (!at) continue;
        assert.ok(existsSync(join(ROOT, at)) && statSync(join(ROOT, at)).isFile(), `${key}: ${at} does not exist`);
        const name = ('mentions' in status && status.mentions) || key.split('.').at(-1)!.replace('[]', '');
        assert.ok(readFileSync(join(ROOT, at), 'utf8').includes(name), `${key}: ${at} does not mention ${name}`);
      }
    });

    test('a refused key, set, is one error naming it', () => {
      const more = Object.entries(MORE_REFUSED[kind]).map(([key, refused]): [string, Status] => [key, { refused }]);
      for (const [key, status] of [...Object.entries(table), ...more]) {
        if (!('refused' in status) && !('via' in status)) continue;
        const [path, value] = 'refused' in status ? [key.replace(/\[\].*$/, ''), status.refused] : [status.via, status.value];
        const found = problems(() => build(rawWith(path, value)));
        assert.ok(found.length >= 1 && found.every((p) => p.startsWith(path)), `${key}: ${JSON.stringify(found)}`);
      }
    });
  });
}

describe("frp's own full example files", () => {
  test('the frpc files load as they are (the legacy one has an empty authentication_method, which is token)', () => {
    for (const f of ['frpc_full_example.toml', 'frpc_legacy_full.ini']) {
      const loaded = loadConfigFile(join(CONF, f));
      assert.equal(loaded.kind, 'client', f);
      assert.equal(loaded.kind === 'client' && loaded.config.auth.method, 'token', f);
      // The one warning: the example's virtual_net proxy, which needs a TUN device, will not start.
      assert.deepEqual(
        loaded.warnings.filter((w) => !w.includes('"virtual_net" is not supported')),
        [],
        f,
      );
    }
  });

  test('the frps files load as they are, server plugins included', () => {
    for (const f of ['frps_full_example.toml', 'frps_legacy_full.ini']) {
      const loaded = loadConfigFile(join(CONF, f));
      assert.equal(loaded.kind, 'server', f);
      assert.deepEqual(
        loaded.kind === 'server' && loaded.config.httpPlugins.map((p) => [p.name, p.addr, p.path, p.ops]),
        [
          ['user-manager', '127.0.0.1:9000', '/handler', ['Login']],
          ['port-manager', '127.0.0.1:9001', '/handler', ['NewProxy']],
        ],
        f,
      );
    }
  });
});
