import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromFlags, findCommand, FlagError, parseFlags, parseGoDuration, type FlagSpec } from '../../src/cli/frp-flags.js';
import { FRPC_COMMON_FLAGS, FRPC_PROXY_FLAGS, FRPC_ROOT_FLAGS } from '../../src/cli/frp-flag-tables.js';
import { formatStatus } from '../../src/cli/status-table.js';

const specs: FlagSpec[] = [...FRPC_ROOT_FLAGS, ...FRPC_COMMON_FLAGS, ...FRPC_PROXY_FLAGS.http!];

test('pflag forms: long/short, =value, glued value, underscores, repeated lists, bools', () => {
  const { values, positionals } = parseFlags(
    ['--server_addr=1.2.3.4', '-P7001', '-t', 'tok', '-d', 'a.com,b.com', '--custom-domain', 'c.com', '--tls_enable=false', '--ue', 'extra', '--', '-n'],
    specs,
  );
  assert.equal(values.get('server-addr'), '1.2.3.4');
  assert.equal(values.get('server-port'), 7001);
  assert.equal(values.get('token'), 'tok');
  assert.deepEqual(values.get('custom-domain'), ['a.com', 'b.com', 'c.com']);
  assert.equal(values.get('tls-enable'), false);
  assert.equal(values.get('ue'), true);
  assert.deepEqual(positionals, ['extra', '-n']);
});

test("errors are worded as pflag's", () => {
  assert.throws(() => parseFlags(['--nope'], specs), new FlagError('unknown flag: --nope'));
  assert.throws(() => parseFlags(['-Z'], specs), new FlagError("unknown shorthand flag: 'Z' in -Z"));
  assert.throws(() => parseFlags(['--token'], specs), new FlagError('flag needs an argument: --token'));
  assert.throws(() => parseFlags(['-P', 'x'], specs), /invalid argument "x" for "-P, --server-port" flag/);
});

test('the command words are found around the flags and their values', () => {
  const sub = (p: string[]): string[] => (p.length === 0 ? ['stcp', 'status'] : p[0] === 'stcp' ? ['visitor'] : []);
  assert.deepEqual(findCommand(['-c', 'status', 'status'], specs, sub), { path: ['status'], rest: ['-c', 'status'] });
  assert.deepEqual(findCommand(['stcp', '-s', 'h', 'visitor', '--sk', 'k'], specs, sub).path, ['stcp', 'visitor']);
  assert.deepEqual(findCommand(['other', 'status'], specs, sub), { path: [], rest: ['other', 'status'] });
});

test("flags become the config keys they name, over frp's flag defaults", () => {
  const { values } = parseFlags(
    ['-s', 'example.org', '--log-level', 'debug', '--metadatas', 'a=1,b=2'],
    [...specs, { name: 'metadatas', kind: 'map', path: 'metadatas' }],
  );
  assert.deepEqual(configFromFlags(values, [...FRPC_COMMON_FLAGS, { name: 'metadatas', kind: 'map', path: 'metadatas' }], { serverAddr: '127.0.0.1' }), {
    serverAddr: 'example.org',
    log: { level: 'debug' },
    metadatas: { a: '1', b: '2' },
  });
});

test('Go durations as --api-timeout takes them', () => {
  assert.equal(parseGoDuration('30s'), 30_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('10'), undefined);
});

test("frpc status: frp's table, types in frp's order, every cell padded by two", () => {
  const text = formatStatus({
    http: [{ name: 'web', status: 'running', local_addr: '127.0.0.1:80', plugin: '', remote_addr: 'a.example.com', err: '' }],
    tcp: [
      { name: 'ssh', status: 'running', local_addr: '127.0.0.1:22', plugin: '', remote_addr: 'host:6000', err: '' },
      { name: 'db', status: 'start error', local_addr: '127.0.0.1:5432', plugin: '', remote_addr: '', err: 'port unavailable' },
    ],
  });
  assert.equal(
    text,
    [
      'Proxy Status...',
      '',
      'TCP',
      'Name  Status       LocalAddr       Plugin  RemoteAddr  Error             ',
      'ssh   running      127.0.0.1:22            host:6000                     ',
      'db    start error  127.0.0.1:5432                      port unavailable  ',
      '',
      'HTTP',
      'Name  Status   LocalAddr     Plugin  RemoteAddr     Error  ',
      'web   running  127.0.0.1:80          a.example.com         ',
      '',
      '',
    ].join('\n'),
  );
});
