import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConvert, runVerify, type CliOutput } from '../../src/cli/config-commands.js';
import { loadConfigFile } from '../../src/config/load.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'configs');

function capture(): CliOutput & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), stdout: () => out, stderr: () => err };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'burrow-convert-'));
}

// The commands report failure through process.exitCode; a test must not leave it set.
afterEach(() => {
  process.exitCode = undefined;
});

describe('burrow verify', () => {
  test('a valid file prints "<file>: OK" and leaves the exit code at 0', () => {
    const io = capture();
    const file = join(DIR, 'nas-ssh.frpc.ini');
    runVerify(['-c', file], io);
    assert.equal(io.stdout(), `${file}: OK\n`);
    assert.equal(io.stderr(), '');
    assert.equal(process.exitCode, undefined);
  });

  test('an invalid file lists every problem where it is and sets exit code 1', () => {
    const dir = tempDir();
    const file = join(dir, 'frpc.ini');
    writeFileSync(file, '[common]\nserver_port = 70000\n[ssh]\nlocal_port = 22\nremote_port = 6000 # ssh\n[web]\ntype = http\nlocal_port = 80\n');
    const io = capture();
    runVerify(['-c', file], io);
    assert.equal(process.exitCode, 1);
    assert.equal(io.stdout(), '');
    assert.equal(
      io.stderr(),
      `${file}: 3 problem(s):\n` +
        '  [ssh] remote_port: expected a whole number, got "6000 # ssh" (INI has no comments after a value: put the comment on its own line)\n' +
        '  [common] server_port: 70000 is out of range 1–65535\n' +
        '  [web] custom_domains: required for type "http" (or set subdomain)\n',
    );
  });

  test('warnings go to stderr without failing; --kind overrides detection', () => {
    const dir = tempDir();
    const file = join(dir, 'x.toml');
    writeFileSync(file, 'auth.token = "{{ .Envs.BURROW_TEST_UNSET_VARIABLE }}"\n');
    const io = capture();
    runVerify(['-c', file, '--kind', 'server'], io);
    assert.equal(process.exitCode, undefined);
    assert.equal(io.stdout(), `${file}: OK\n`);
    assert.match(io.stderr(), /^.*x\.toml: warning: line 1: environment variable BURROW_TEST_UNSET_VARIABLE is not set/);
    // A warning that explains a problem is shown with it.
    writeFileSync(file, 'bindPort = {{ .Envs.BURROW_TEST_UNSET_VARIABLE }}\n');
    const failing = capture();
    runVerify(['-c', file], failing);
    assert.equal(process.exitCode, 1);
    assert.match(
      failing.stderr(),
      /warning: line 1: environment variable BURROW_TEST_UNSET_VARIABLE is not set.*\n.*1 problem\(s\):\n {2}cannot parse TOML: line 1/,
    );
    assert.throws(() => runVerify(['-c', file, '--kind', 'both'], capture()), /--kind must be server or client/);
    assert.throws(() => runVerify([], capture()), /needs a file/);
  });
});

describe('burrow convert', () => {
  test('frpc.ini → TOML: only non-default keys, frp names, stable order', () => {
    const io = capture();
    runConvert(['-c', join(DIR, 'nas-ssh.frpc.ini'), '--to', 'toml'], io);
    assert.equal(
      io.stdout(),
      [
        'serverAddr = "203.0.113.10"',
        'serverPort = 7000',
        'auth.token = "12345678"',
        '',
        '[[proxies]]',
        'name = "ssh"',
        'type = "tcp"',
        'localIP = "192.168.1.20"',
        'localPort = 22',
        'remotePort = 6000',
        '',
      ].join('\n'),
    );
    assert.equal(process.exitCode, undefined);
  });

  test('every INI file of the corpus converts to TOML that loads back into the same configuration', () => {
    const env = process.env;
    const out = tempDir();
    const inis = readdirSync(DIR).filter((f) => f.endsWith('.ini') && !f.startsWith('includes.') && !f.startsWith('env-'));
    assert.ok(inis.length >= 8);
    for (const ini of inis) {
      const target = join(out, ini.replace(/\.ini$/, '.toml'));
      const io = capture();
      runConvert(['-c', join(DIR, ini), '--to', 'toml', '-o', target], io);
      assert.equal(process.exitCode, undefined, io.stderr());
      assert.match(io.stderr(), /written as TOML to/);
      const fromIni = loadConfigFile(join(DIR, ini), { env });
      const fromToml = loadConfigFile(target, { env, kind: fromIni.kind });
      assert.equal(fromToml.format, 'toml');
      assert.deepEqual(fromToml.config, fromIni.config, ini);
      // Converting the converted file again changes nothing.
      const again = capture();
      runConvert(['-c', target], again);
      assert.equal(again.stdout(), readFileSync(target, 'utf8'), ini);
    }
  });

  test('templates and includes come with a note; bad arguments are refused', () => {
    const io = capture();
    runConvert(['-c', join(DIR, 'includes.frpc.ini')], io);
    assert.match(io.stdout(), /^includes = \["confd\/\*\.ini"\]$/m);
    assert.match(io.stderr(), /the files matched by includes are not converted/);
    assert.doesNotMatch(io.stdout(), /name = "web"/, 'included proxies stay in their files');
    const templated = join(tempDir(), 'frpc.toml');
    writeFileSync(templated, 'serverAddr = "{{ or .Envs.BURROW_TEST_UNSET_VARIABLE "frp.example.com" }}"\n');
    const t = capture();
    runConvert(['-c', templated], t);
    assert.equal(t.stdout(), 'serverAddr = "frp.example.com"\nserverPort = 7000\n');
    assert.match(t.stderr(), /templates were rendered with the current environment/);
    assert.throws(() => runConvert(['-c', join(DIR, 'nas-ssh.frpc.ini'), '--to', 'yaml'], capture()), /writes toml/);
    assert.throws(() => runConvert(['-c', join(DIR, 'nas-ssh.frpc.ini'), '-o', join(DIR, 'nas-ssh.frpc.ini')], capture()), /must not be the input/);
  });

  test('an invalid input writes nothing and sets exit code 1', () => {
    const dir = tempDir();
    const file = join(dir, 'frpc.ini');
    writeFileSync(file, '[common]\n[ssh]\nlocal_port = x\n');
    const io = capture();
    runConvert(['-c', file, '-o', join(dir, 'out.toml')], io);
    assert.equal(process.exitCode, 1);
    assert.deepEqual(readdirSync(dir), ['frpc.ini']);
    assert.match(io.stderr(), /\[ssh\] local_port: expected a whole number, got "x"/);
  });
});
