import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClientConfig, buildServerConfig, detectKind, loadConfigFile } from '../../src/config/load.js';
import { problems } from '../helpers/config.js';

const proxies = (...list: Record<string, unknown>[]): unknown => ({ proxies: list });
const visitors = (...list: Record<string, unknown>[]): unknown => ({ visitors: list });

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-config-')), name);
  writeFileSync(file, text);
  return file;
}

describe('per-type keys', () => {
  test('a key of another proxy type is an error naming the type', () => {
    assert.deepEqual(
      problems(() =>
        buildClientConfig(
          proxies(
            { name: 'a', type: 'tcp', localPort: 1, customDomains: ['x.com'], secretKey: 'k' },
            { name: 'b', type: 'http', localPort: 1, subdomain: 'b', remotePort: 80, multiplexer: 'httpconnect' },
            { name: 'c', type: 'https', localPort: 1, subdomain: 'c', locations: ['/'], httpUser: 'u' },
            { name: 'd', type: 'stcp', localPort: 1, natTraversal: { disableAssistedAddrs: true } },
          ),
        ),
      ),
      [
        'proxies[0].customDomains: not valid for type "tcp"',
        'proxies[0].secretKey: not valid for type "tcp"',
        'proxies[1].remotePort: not valid for type "http"',
        'proxies[1].multiplexer: not valid for type "http"',
        'proxies[2].locations: not valid for type "https"',
        'proxies[2].httpUser: not valid for type "https"',
        'proxies[3].natTraversal: not valid for type "stcp"',
      ],
    );
    assert.deepEqual(
      problems(() => buildClientConfig(proxies({ name: 'p', localPort: 1, plugin: { type: 'http_proxy', username: 'u', localAddr: 'x' } }))),
      ['proxies[0].plugin.username: not valid for plugin type "http_proxy"', 'proxies[0].plugin.localAddr: not valid for plugin type "http_proxy"'],
    );
    assert.deepEqual(
      problems(() => buildClientConfig(visitors({ name: 'v', type: 'stcp', serverName: 's', bindPort: 1, protocol: 'kcp' }))),
      ['visitors[0].protocol: not valid for type "stcp"'],
    );
  });

  test('each type gets exactly its own keys, with frp defaults', () => {
    const c = buildClientConfig(
      proxies(
        { name: 'h', type: 'http', localPort: 80, subdomain: 'h' },
        { name: 'm', type: 'tcpmux', localPort: 80, customDomains: ['m.com'], multiplexer: 'httpconnect' },
        { name: 'x', type: 'xtcp', localPort: 22, secretKey: 'k' },
      ),
    );
    const [h, m, x] = c.proxies;
    assert.deepEqual(Object.keys(h!).sort(), [
      'customDomains',
      'enabled',
      'hostHeaderRewrite',
      'httpPassword',
      'httpUser',
      'inspect',
      'localIP',
      'localPort',
      'locations',
      'name',
      'remotePort',
      'routeByHTTPUser',
      'subdomain',
      'transport',
      'type',
    ]);
    assert.equal(h!.remotePort, 0);
    assert.deepEqual([m!.multiplexer, m!.httpUser, m!.locations], ['httpconnect', '', undefined]);
    assert.deepEqual([x!.secretKey, x!.allowUsers, x!.natTraversal, x!.customDomains], ['k', [], { disableAssistedAddrs: false }, undefined]);
  });
});

describe('required keys', () => {
  test('http/https/tcpmux need customDomains or subdomain; tcpmux needs its multiplexer', () => {
    assert.deepEqual(
      problems(() =>
        buildClientConfig(
          proxies(
            { name: 'h', type: 'http', localPort: 1 },
            { name: 's', type: 'https', localPort: 1, customDomains: [] },
            { name: 'm', type: 'tcpmux', localPort: 1, subdomain: 'm' },
          ),
        ),
      ),
      [
        'proxies[0].customDomains: required for type "http" (or set subdomain)',
        'proxies[1].customDomains: required for type "https" (or set subdomain)',
        'proxies[2].multiplexer: required for type "tcpmux" (the one value is "httpconnect")',
      ],
    );
  });

  test("localPort unless a plugin serves the proxy; a plugin's own required key", () => {
    assert.deepEqual(
      problems(() => buildClientConfig(proxies({ name: 'a' }, { name: 'b', plugin: { type: 'static_file' } }, { name: 'c', plugin: { type: 'https2http' } }))),
      [
        'proxies[0].localPort: required',
        'proxies[1].plugin.localPath: required for plugin type "static_file"',
        'proxies[2].plugin.localAddr: required for plugin type "https2http"',
      ],
    );
  });

  test('visitors need a type, serverName and a bind port (negative = no listener)', () => {
    assert.deepEqual(
      problems(() => buildClientConfig(visitors({ name: 'v' }))),
      [
        'visitors[0].type: required',
        'visitors[0].serverName: required',
        'visitors[0].bindPort: required: the local port to listen on (negative = no listener)',
      ],
    );
    assert.equal(buildClientConfig(visitors({ name: 'v', type: 'stcp', serverName: 's', bindPort: -1 })).visitors[0]!.bindPort, -1);
  });

  test('stcp/sudp/xtcp load without secretKey, as frp, but warn', () => {
    const warnings: string[] = [];
    buildClientConfig(proxies({ name: 's', type: 'sudp', localPort: 53 }), 'x', { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(warnings, ['proxies[0].secretKey: empty: anyone who knows the name "s" can reach this sudp proxy']);
  });
});

describe('types, ranges, duplicates, conflicts', () => {
  test('wrong types and out-of-range ports', () => {
    assert.deepEqual(
      problems(() =>
        buildClientConfig({
          serverPort: '7000',
          loginFailExit: 'yes',
          start: 'ssh',
          proxies: [{ name: 'a', localPort: 0, remotePort: 70000, transport: { bandwidthLimit: '1GB', proxyProtocolVersion: 'v3' } }],
          visitors: [{ name: 'v', type: 'stcp', serverName: 's', bindPort: 65536 }],
        }),
      ),
      [
        'serverPort: expected a whole number, got "7000"',
        'loginFailExit: expected true or false, got "yes"',
        'start: expected a list of strings, got "ssh"',
        'proxies[0].localPort: 0 is out of range 1–65535',
        'proxies[0].remotePort: 70000 is out of range 0–65535',
        'proxies[0].transport.bandwidthLimit: expected a size like "1MB" or "100KB", got "1GB"',
        'proxies[0].transport.proxyProtocolVersion: expected one of v1, v2, got "v3"',
        'visitors[0].bindPort: 65536 is out of range -∞–65535',
      ],
    );
  });

  test('duplicate proxy and visitor names', () => {
    assert.deepEqual(
      problems(() =>
        buildClientConfig({
          proxies: [
            { name: 'a', localPort: 1 },
            { name: 'a', localPort: 2 },
          ],
          visitors: [
            { name: 'v', type: 'stcp', serverName: 's', bindPort: 1 },
            { name: 'v', type: 'stcp', serverName: 's', bindPort: 2 },
          ],
        }),
      ),
      ['proxies[1].name: duplicate proxy name "a"', 'visitors[1].name: duplicate visitor name "v"'],
    );
  });

  test('conflicting and dependent options', () => {
    assert.deepEqual(
      problems(() =>
        buildClientConfig({
          auth: {
            token: 't',
            tokenSource: { type: 'file', file: { path: 'token.txt' } },
            oidc: { clientID: 'c', tokenSource: { type: 'file', file: { path: 'x' } } },
          },
          transport: { heartbeatInterval: 30, heartbeatTimeout: 10 },
          proxies: [
            { name: 'h', localPort: 1, healthCheck: { type: 'http' } },
            { name: 'w', type: 'http', localPort: 1, subdomain: 'a.b' },
          ],
        }),
      ),
      [
        'auth.tokenSource: cannot be set together with auth.token; keep one of them',
        'auth.oidc.tokenSource: cannot be set together with other auth.oidc keys',
        'transport.heartbeatTimeout: 10 is less than transport.heartbeatInterval (30)',
        'proxies[0].healthCheck.path: required when healthCheck.type is "http"',
        'proxies[1].subdomain: "." and "*" are not allowed in "a.b"',
      ],
    );
    assert.deepEqual(
      problems(() => buildServerConfig({ auth: { method: 'oidc' }, webServer: { tls: { certFile: 'a' } } })),
      ['auth.oidc.issuer: required when auth.method is "oidc"', 'webServer.tls.keyFile: required when webServer.tls is set'],
    );
  });

  test('auth.method = "oidc": the rules frp has for each side, each error at its key', () => {
    assert.deepEqual(
      problems(() => buildServerConfig({ auth: { method: 'oidc', oidc: { issuer: 'issuer.example' } } })),
      ['auth.oidc.issuer: must be an http or https URL, got "issuer.example"'],
    );
    assert.equal(buildServerConfig({ auth: { method: 'oidc', oidc: { issuer: 'https://issuer.example' } } }).auth.oidc.issuer, 'https://issuer.example');
    assert.deepEqual(
      problems(() => buildClientConfig({ auth: { method: 'oidc' } })),
      [
        'auth.oidc.clientID: required when auth.method is "oidc" (or set auth.oidc.tokenSource)',
        'auth.oidc.tokenEndpointURL: required when auth.method is "oidc" (or set auth.oidc.tokenSource)',
      ],
    );
    assert.deepEqual(
      problems(() =>
        buildClientConfig({
          auth: {
            method: 'oidc',
            oidc: {
              clientID: 'c',
              audience: 'a',
              tokenEndpointURL: 'ftp://idp/token',
              additionalEndpointParams: { scope: 's', audience: 'b' },
              proxyURL: 'ntlm://proxy:8080',
            },
          },
        }),
      ),
      [
        'auth.oidc.tokenEndpointURL: must be an absolute http or https URL',
        'auth.oidc.additionalEndpointParams.scope: is not allowed; use auth.oidc.scope instead',
        'auth.oidc.additionalEndpointParams.audience: cannot be set together with auth.oidc.audience',
        'auth.oidc.proxyURL: proxy scheme "ntlm" is not supported; use http:// (CONNECT) or socks5://',
      ],
    );
    const exec = { method: 'oidc', oidc: { tokenSource: { type: 'exec', exec: { command: 'print-token' } } } } as const;
    assert.deepEqual(
      problems(() => buildClientConfig({ auth: exec })),
      ['auth.oidc.tokenSource.type: unsafe feature "TokenSourceExec" is not enabled. To enable it, start with --allow-unsafe=TokenSourceExec'],
    );
    const allowed = buildClientConfig({ auth: exec }, 'x', { allowUnsafe: ['TokenSourceExec'], baseDir: '/etc/burrow' });
    assert.equal(allowed.auth.oidc.tokenSource?.exec?.command, 'print-token', 'a bare name stays a PATH lookup');
    const file = buildClientConfig({ auth: { method: 'oidc', oidc: { tokenSource: { type: 'file', file: { path: 'tok' } } } } }, 'x', {
      baseDir: '/etc/burrow',
    });
    assert.equal(file.auth.oidc.tokenSource?.file?.path, '/etc/burrow/tok', 'read at every login, so anchored to the config folder at load');
    // As frp: with OIDC, auth.tokenSource is not read, so the control cipher key stays the empty token a stock frps uses then.
    const unread = { method: 'oidc', oidc: { issuer: 'https://idp' }, tokenSource: { type: 'file', file: { path: 'no-such-file' } } } as const;
    assert.equal(buildServerConfig({ auth: unread }).auth.token, '');
  });

  test('plugin together with localPort is fine (frp ignores localPort) and warns', () => {
    const warnings: string[] = [];
    const c = buildClientConfig(proxies({ name: 's', localPort: 1080, plugin: { type: 'socks5' } }), 'x', { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(c.proxies[0]!.plugin, { type: 'socks5', username: '', password: '' });
    assert.deepEqual(warnings, ['proxies[0].localPort: ignored: plugin "socks5" serves the connections']);
  });

  test('plugins: ignored with a warning on udp/sudp (as frp), virtual_net warned at load (refused at start), a health check needs a localPort', () => {
    const warnings: string[] = [];
    buildClientConfig(
      proxies(
        { name: 'u', type: 'udp', localPort: 53, plugin: { type: 'socks5' } },
        { name: 'h', localPort: 8080, plugin: { type: 'http_proxy' }, healthCheck: { type: 'tcp' } },
        { name: 'n', plugin: { type: 'http_proxy' }, healthCheck: { type: 'tcp' } },
        { name: 'v', plugin: { type: 'virtual_net' } },
      ),
      'x',
      { onWarning: (w) => warnings.push(w) },
    );
    assert.deepEqual(warnings, [
      'proxies[0].plugin: ignored on type "udp": plugins serve tcp-like proxies (as frp, datagrams go to localPort)',
      'proxies[1].localPort: used only by the health check: plugin "http_proxy" serves the connections',
      'proxies[2].healthCheck.type: ignored: a plugin proxy is health checked on its localPort, and none is set (as frp)',
      'proxies[3].plugin.type: "virtual_net" is not supported: it needs a TUN device, which burrow does not create; this proxy will not start',
    ]);
    assert.deepEqual(
      problems(() => buildClientConfig(proxies({ name: 'u', type: 'sudp', plugin: { type: 'socks5' } }))),
      ['proxies[0].localPort: required'],
    );
  });
});

describe('loading files', () => {
  test('auth.tokenSource reads the token from a file next to the config', () => {
    const file = tempFile('frpc.toml', 'serverAddr = "a"\nauth.tokenSource = { type = "file", file = { path = "token.txt" } }\n');
    writeFileSync(join(file, '..', 'token.txt'), '  s3cret\n');
    const loaded = loadConfigFile(file);
    assert.equal(loaded.kind, 'client');
    assert.equal(loaded.config.auth.token, 's3cret');
    assert.equal((loaded.normalized.auth as { token: string }).token, '', 'convert writes the tokenSource, not the secret');
    const missing = tempFile('frps.toml', 'bindPort = 7000\nauth.tokenSource.type = "file"\nauth.tokenSource.file.path = "nope.txt"\n');
    assert.match(problems(() => loadConfigFile(missing))[0]!, /^auth\.tokenSource\.file\.path: cannot read the token: ENOENT/);
  });

  test('syntax errors say where they are', () => {
    assert.match(problems(() => loadConfigFile(tempFile('frpc.toml', 'serverAddr = "a"\nserverPort = = 1\n')))[0]!, /^cannot parse TOML: line 2, column \d+: /);
    assert.match(problems(() => loadConfigFile(tempFile('frpc.yaml', 'serverAddr: a: b\n')))[0]!, /^cannot parse YAML: .* at line 1, column \d+$/);
    assert.match(problems(() => loadConfigFile(tempFile('frpc.json', '{"serverAddr": }')))[0]!, /^cannot parse JSON: /);
    assert.match(problems(() => loadConfigFile(join(tmpdir(), 'burrow-no-such-dir', 'frpc.toml')))[0]!, /^cannot read the file: ENOENT/);
  });

  test('an unknown extension is INI when it has [common]; server or client is read from the keys', () => {
    const conf = loadConfigFile(tempFile('tunnel.conf', '[common]\nbind_port = 7001\n'));
    assert.deepEqual([conf.format, conf.kind, conf.kind === 'server' && conf.config.bindPort], ['ini', 'server', 7001]);
    assert.equal(detectKind({ bindPort: 1 }), 'server');
    assert.equal(detectKind({ serverAddr: 'a', proxies: [] }), 'client');
    assert.equal(detectKind({}, '/etc/frp/frps.toml'), 'server');
    assert.equal(detectKind({ auth: { token: 'x' } }, 'x.toml'), undefined);
    assert.match(problems(() => loadConfigFile(tempFile('x.toml', 'auth.token = "t"\n')))[0]!, /pass --kind server\|client/);
  });

  test('includes: problems in included files name the file and the entry; other keys there are ignored', () => {
    const file = tempFile('frpc.toml', 'includes = ["conf.d/*.toml", "missing/*.toml"]\n[[proxies]]\nname = "own"\nlocalPort = 1\n');
    const dir = join(file, '..', 'conf.d');
    mkdirSync(dir);
    writeFileSync(join(dir, 'web.toml'), 'serverAddr = "ignored"\n[[proxies]]\nname = "ok"\nlocalPort = 2\n[[proxies]]\nname = "bad"\nlocalPrt = 3\n');
    assert.deepEqual(
      problems(() => loadConfigFile(file)),
      [
        'includes[1]: cannot list the directory of "missing/*.toml" (ENOENT)',
        'conf.d/web.toml: proxies[1].localPrt: unknown key, did you mean localPort?',
        'conf.d/web.toml: proxies[1].localPort: required',
      ],
    );
    writeFileSync(file, 'includes = ["conf.d/*.toml"]\n');
    writeFileSync(join(dir, 'web.toml'), 'serverAddr = "ignored"\n[[proxies]]\nname = "ok"\nlocalPort = 2\n');
    const loaded = loadConfigFile(file);
    assert.deepEqual(loaded.kind === 'client' && loaded.config.proxies.map((p) => p.name), ['ok']);
    assert.equal(loaded.kind === 'client' && loaded.config.serverAddr, '0.0.0.0');
    assert.deepEqual(loaded.warnings, ['conf.d/web.toml: only proxies and visitors are read from an included file; ignored: serverAddr']);
    assert.deepEqual(loaded.normalized.proxies, [], 'included proxies stay out of what convert writes');
  });
});
