import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServerConfig, loadClientConfig, loadConfigFile, loadServerConfig } from '../../src/config/load.js';
import { parseAllowUnsafe } from '../../src/config/value-source.js';
import { problems } from '../helpers/config.js';

/** frp's config corner cases (issue 18): key case, files without an extension, empty choices, exec token failures. */
function dir(): { at: (name: string, text: string, mode?: number) => string } {
  const d = mkdtempSync(join(tmpdir(), 'burrow-corners-'));
  return {
    at(name, text, mode) {
      const f = join(d, name);
      writeFileSync(f, text);
      if (mode !== undefined) chmodSync(f, mode);
      return f;
    },
  };
}

describe("keys match ignoring case, as Go decodes them into frp's structs", () => {
  test('TOML, YAML and JSON: any case reaches the key; map keys keep theirs', () => {
    const d = dir();
    const c = loadClientConfig(
      d.at(
        'c.toml',
        'SERVERADDR = "h"\nServerPort = 7001\nAUTH.Token = "t"\nmetadatas.MyKey = "v"\n[[Proxies]]\nNAME = "a"\nType = "tcp"\nlocalport = 22\nTransport.UseEncryption = true\n',
      ),
    );
    assert.deepEqual([c.serverAddr, c.serverPort, c.auth.token, c.metadatas], ['h', 7001, 't', { MyKey: 'v' }]);
    assert.deepEqual([c.proxies[0]!.name, c.proxies[0]!.localPort, c.proxies[0]!.transport.useEncryption], ['a', 22, true]);
    const s = loadServerConfig(d.at('s.yaml', 'bindport: 7002\nsubdomainHost: example.com\nWEBSERVER:\n  PORT: 7500\n'));
    assert.deepEqual([s.bindPort, s.subDomainHost, s.webServer.port], [7002, 'example.com', 7500]);
    assert.equal(loadServerConfig(d.at('s.json', '{"BindPort": 7003}')).bindPort, 7003);
  });

  test('one key under two spellings is an error naming both (frp keeps the last silently)', () => {
    assert.deepEqual(
      problems(() => buildServerConfig({ bindPort: 1, BindPort: 2 })),
      ['bindPort: given twice, as "bindPort" and "BindPort" (keys are matched ignoring case, as frp does)'],
    );
  });

  test('included files: their proxies list matches ignoring case too', () => {
    const d = dir();
    d.at('more.toml', '[[PROXIES]]\nname = "b"\nlocalPort = 2\n');
    const c = loadClientConfig(d.at('frpc.toml', 'Includes = ["more.toml"]\n[[proxies]]\nname = "a"\nlocalPort = 1\n'));
    assert.deepEqual(
      c.proxies.map((p) => p.name),
      ['a', 'b'],
    );
  });
});

describe('files without an extension, as frp tells them apart', () => {
  test('TOML if it parses, else JSON when it starts with {, else YAML; [common] is legacy INI', () => {
    const d = dir();
    const yaml = d.at('frps-yaml', 'bindPort: 7010\nlog:\n  level: trace\n');
    assert.deepEqual([loadConfigFile(yaml).format, loadServerConfig(yaml).bindPort], ['yaml', 7010]);
    assert.equal(loadConfigFile(d.at('frps-toml', 'bindPort = 7011\n')).format, 'toml');
    assert.equal(loadConfigFile(d.at('frps-json', '{"bindPort": 7012}')).format, 'json');
    assert.equal(loadConfigFile(d.at('frps-ini', '[common]\nbind_port = 7013\n')).format, 'ini');
    const proxies = loadClientConfig(d.at('frpc-yaml', 'serverPort: 7000\nproxies:\n- name: tcp\n  type: tcp\n  localPort: 22\n'));
    assert.equal(proxies.proxies[0]!.name, 'tcp');
  });
});

test('an empty choice takes frp\'s default: authentication_method = , auth.method = "", log.level = ""', () => {
  const d = dir();
  const ini = loadClientConfig(d.at('frpc.ini', '[common]\nserver_port = 7000\nauthentication_method = \nprotocol =\n'));
  assert.deepEqual([ini.auth.method, ini.transport.protocol], ['token', 'tcp']);
  const toml = loadServerConfig(d.at('frps.toml', 'bindPort = 7000\nauth.method = ""\nlog.level = ""\n'));
  assert.deepEqual([toml.auth.method, toml.log.level], ['token', 'info']);
});

describe('auth.tokenSource exec: one clear error when the program fails', () => {
  const allow = { allowUnsafe: ['TokenSourceExec'] };
  const conf = (command: string, args: string[] = []): string =>
    `bindPort = 7000\nauth.tokenSource = { type = "exec", exec = { command = ${JSON.stringify(command)}, args = ${JSON.stringify(args)}, env = [{ name = "TOKEN_PART", value = "from-env" }] } }\n`;

  test('standard output, trimmed; env entries are added; a relative command path is taken from the config folder', () => {
    const d = dir();
    d.at('tok.sh', '#!/bin/sh\nprintf "  %s-%s  \\n\\n" "$1" "$TOKEN_PART"\n', 0o700);
    assert.equal(loadServerConfig(d.at('a.toml', conf('./tok.sh', ['x'])), allow).auth.token, 'x-from-env');
  });

  test('failures name the key: exit code with its stderr, missing program, output too large', () => {
    const d = dir();
    d.at('fail.sh', '#!/bin/sh\necho "vault is sealed" >&2\nexit 3\n', 0o700);
    d.at('loud.sh', '#!/bin/sh\nhead -c 200000 /dev/zero | tr "\\0" x\n', 0o700);
    assert.deepEqual(
      problems(() => loadServerConfig(d.at('f.toml', conf('./fail.sh')), allow)),
      ['auth.tokenSource.exec.command: "./fail.sh" exited with code 3: "vault is sealed"'],
    );
    assert.match(
      problems(() => loadServerConfig(d.at('m.toml', conf('./missing.sh')), allow))[0]!,
      /^auth\.tokenSource\.exec\.command: cannot run "\.\/missing\.sh": .*ENOENT/,
    );
    assert.deepEqual(
      problems(() => loadServerConfig(d.at('l.toml', conf('./loud.sh')), allow)),
      ['auth.tokenSource.exec.command: "./loud.sh" printed more than 64 KiB'],
    );
  });

  test('schema: exec needs its command, file its path, and each only with its type', () => {
    assert.deepEqual(problems(() => buildServerConfig({ auth: { tokenSource: { type: 'exec' } } }, 's', allow))[0], 'auth.tokenSource.exec: required');
    assert.deepEqual(
      problems(() => buildServerConfig({ auth: { tokenSource: { type: 'exec', exec: {} } } }, 's', allow)),
      ['auth.tokenSource.exec.command: required'],
    );
    assert.deepEqual(problems(() => buildServerConfig({ auth: { tokenSource: { type: 'file', exec: { command: 'x' } } } }, 's', allow)).slice(0, 2), [
      'auth.tokenSource.exec: not valid for tokenSource type "file"',
      'auth.tokenSource.file: required',
    ]);
  });

  test("--allow-unsafe takes frp's forms: repeated or comma-separated", () => {
    assert.deepEqual(parseAllowUnsafe(['TokenSourceExec']), ['TokenSourceExec']);
    assert.deepEqual(parseAllowUnsafe(['TokenSourceExec,TokenSourceExec', '']), ['TokenSourceExec']);
    assert.throws(() => parseAllowUnsafe(['Nope']), /unknown feature "Nope"/);
  });
});
