import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIni, parseIniBool, parseIniInt, splitIniList, type IniFile } from '../../src/config/ini.js';
import { mapClientIni, mapServerIni } from '../../src/config/ini-map.js';
import { buildClientConfig, ConfigError } from '../../src/config/load.js';

function values(file: IniFile, section: string): Record<string, string> {
  const s = file.sections.find((x) => x.name === section);
  assert.ok(s, `section [${section}] exists`);
  return Object.fromEntries([...s.entries.values()].map((e) => [e.key, e.value]));
}

/** Maps and builds an INI client file as loading does; mapping and schema problems are reported together. */
function mapAndBuild(text: string): { config?: ReturnType<typeof buildClientConfig>; problems: string[] } {
  const mapped = mapClientIni({ file: parseIni(text), label: '' });
  try {
    const config = buildClientConfig(mapped.raw, 'test.ini', { translatePath: mapped.translate });
    return mapped.problems.length > 0 ? { problems: mapped.problems } : { config, problems: [] };
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return { problems: [...mapped.problems, ...err.problems] };
  }
}

function client(text: string): ReturnType<typeof buildClientConfig> {
  const r = mapAndBuild(text);
  assert.deepEqual(r.problems, []);
  return r.config!;
}

function clientProblems(text: string): string[] {
  const r = mapAndBuild(text);
  assert.ok(r.problems.length > 0, 'expected problems');
  return r.problems;
}

describe('INI reader (frp quirks)', () => {
  test('comments only at line start; no inline comments; # inside a token stays', () => {
    const f = parseIni('[common]\n# c\n   ; c2\ntoken = abc#1\na = 1 # x\nb = x;y\n');
    assert.deepEqual(values(f, 'common'), { token: 'abc#1', a: '1 # x', b: 'x;y' });
  });

  test('one surrounding pair of quotes is removed, only when the quote appears nowhere else', () => {
    const f = parseIni(`[s]\na = "q"\nb = 'q'\nc = "a"b"\nd = "a'\ne = ""\nf = " spaced "\n`);
    assert.deepEqual(values(f, 's'), { a: 'q', b: 'q', c: '"a"b"', d: `"a'`, e: '', f: ' spaced ' });
  });

  test('backtick and triple-quote values are raw, up to the last closing quote, across lines', () => {
    const f = parseIni('[s]\na = `x "y" `z` tail\nb = """one\ntwo\nthree""" after\nc = """x"""\n');
    assert.deepEqual(values(f, 's'), { a: 'x "y" `z', b: 'one\ntwo\nthree', c: 'x' });
    assert.match(parseIni('[s]\na = `never closed\n').problems[0]!, /line 2: the value opened with ` is never closed/);
  });

  test('= or : separates; the first one wins; continuation lines join; bare keys are true', () => {
    const f = parseIni('[s]\nhttp_proxy = http://u:p@h:3128\nk: v\nlong = a \\\n   b \\\n c\nbare_flag\n');
    assert.deepEqual(values(f, 's'), { http_proxy: 'http://u:p@h:3128', k: 'v', long: 'a b c', bare_flag: 'true' });
  });

  test('case-sensitive names, repeated sections merge, repeated keys keep the last value (with warnings)', () => {
    const f = parseIni('[Common]\na = 1\n[common]\na = 2\n[common]\na = 3\nb = 4\n\r\n');
    assert.deepEqual(values(f, 'Common'), { a: '1' });
    assert.deepEqual(values(f, 'common'), { a: '3', b: '4' });
    assert.equal(f.warnings.length, 2);
    assert.match(f.warnings[0]!, /\[common\] appears again/);
    assert.match(parseIni('[oops\n').problems[0]!, /line 1: section header "\[oops" has no closing "\]"/);
  });

  test('booleans, numbers and lists as frp reads them', () => {
    for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True', 'YES', 'yes', 'Yes', 'y', 'ON', 'on', 'On']) assert.equal(parseIniBool(t), true, t);
    for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False', 'NO', 'no', 'No', 'n', 'OFF', 'off', 'Off']) assert.equal(parseIniBool(f), false, f);
    assert.equal(parseIniBool('maybe'), undefined);
    assert.deepEqual(parseIniInt('7000'), { value: 7000, octal: false });
    assert.deepEqual(parseIniInt('0x1F'), { value: 31, octal: false });
    assert.deepEqual(parseIniInt('010'), { value: 8, octal: true });
    assert.deepEqual(parseIniInt('-1'), { value: -1, octal: false });
    for (const bad of ['', 'abc', '6000 # ssh', '08', '1__0', '1_', '1.5']) assert.equal(parseIniInt(bad), undefined, bad);
    assert.deepEqual(splitIniList('a.com, b.com ,c.com'), ['a.com', 'b.com', 'c.com']);
    assert.deepEqual(splitIniList('a\\,b,c,'), ['a,b', 'c']);
    assert.deepEqual(splitIniList(''), []);
  });
});

describe('INI → TOML shape', () => {
  test('type missing means tcp; snake_case keys land on the TOML names', () => {
    const c = client('[common]\nserver_addr = x\ntcp_mux = false\n[ssh]\nlocal_port = 22\nremote_port = 6000\nuse_encryption = true\n');
    assert.equal(c.transport.tcpMux, false);
    assert.equal(c.transport.heartbeatInterval, 30, 'heartbeats follow tcpMux as in TOML');
    assert.deepEqual(c.proxies[0], {
      name: 'ssh',
      type: 'tcp',
      enabled: true,
      localIP: '127.0.0.1',
      localPort: 22,
      remotePort: 6000,
      transport: { useEncryption: true, useCompression: false },
    });
  });

  test('meta_, header_, plugin_ and oidc_additional_ prefixes become tables', () => {
    const c = client(
      '[common]\nmeta_team = ops\noidc_additional_audience = x\n' +
        '[web]\ntype = http\nlocal_port = 80\nsubdomain = w\nmeta_id = 7\nheader_X-Real = 1\n' +
        '[p]\ntype = http\nsubdomain = p\nplugin = http2http\nplugin_local_addr = 127.0.0.1:81\nplugin_header_X-A = b\n',
    );
    assert.deepEqual(c.metadatas, { team: 'ops' });
    assert.deepEqual(c.auth.oidc.additionalEndpointParams, { audience: 'x' });
    assert.deepEqual(c.proxies[0]!.metadatas, { id: '7' });
    assert.deepEqual(c.proxies[0]!.requestHeaders, { set: { 'X-Real': '1' } });
    assert.deepEqual(c.proxies[1]!.plugin, {
      type: 'http2http',
      localAddr: '127.0.0.1:81',
      hostHeaderRewrite: '',
      requestHeaders: { set: { 'X-A': 'b' } },
    });
  });

  test('[range:NAME] expands to NAME_0, NAME_1, … with the i-th port pair and every other key', () => {
    const c = client('[common]\n[range:tcp]\ntype = tcp\nlocal_port = 6000-6002,6010\nremote_port = 7000-7002,7010\nuse_compression = on\n');
    assert.deepEqual(
      c.proxies.map((p) => [p.name, p.localPort, p.remotePort, p.transport.useCompression]),
      [
        ['tcp_0', 6000, 7000, true],
        ['tcp_1', 6001, 7001, true],
        ['tcp_2', 6002, 7002, true],
        ['tcp_3', 6010, 7010, true],
      ],
    );
    assert.deepEqual(clientProblems('[common]\n[range:r]\nlocal_port = 1-3\nremote_port = 1-2\n'), [
      '[range:r] remote_port: 2 port(s) for 3 local port(s); the lists must have the same length',
    ]);
    assert.deepEqual(clientProblems('[common]\n[range:r]\nlocal_port = 5-1\nremote_port = 1-100000000\n'), [
      '[range:r] local_port: "5-1" ends before it starts',
      '[range:r] remote_port: more than 65535 numbers',
    ]);
    const big = (name: string): string => `[range:${name}]\nlocal_port = 1-40000\nremote_port = 1-40000\n`;
    assert.deepEqual(clientProblems(`[common]\n${big('a')}${big('b')}`), [
      '[range:b] local_port: more than 65535 ports from all range sections together',
      '[range:b] remote_port: more than 65535 ports from all range sections together',
    ]);
  });

  test('role = visitor sections go to visitors; xtcp extras keep frp defaults', () => {
    const c = client('[common]\n[v]\nrole = visitor\ntype = xtcp\nserver_name = p\nsk = k\nbind_port = 9000\n');
    assert.deepEqual(c.proxies, []);
    assert.deepEqual(c.visitors[0], {
      name: 'v',
      type: 'xtcp',
      enabled: true,
      serverName: 'p',
      serverUser: '',
      secretKey: 'k',
      bindAddr: '127.0.0.1',
      bindPort: 9000,
      transport: { useEncryption: false, useCompression: false },
      protocol: 'quic',
      keepTunnelOpen: false,
      maxRetriesAnHour: 8,
      minRetryInterval: 90,
      fallbackTo: '',
      fallbackTimeoutMs: 1000,
      natTraversal: { disableAssistedAddrs: false },
    });
  });

  test("a dotted section reads keys it lacks from its parent section, as frp's INI library", () => {
    const c = client('[common]\n[nas]\ntype = tcp\nlocal_ip = 10.0.0.5\nlocal_port = 5000\n[nas.ssh]\nlocal_port = 22\n');
    assert.deepEqual(
      c.proxies.map((p) => [p.name, p.localIP, p.localPort]),
      [
        ['nas', '10.0.0.5', 5000],
        ['nas.ssh', '10.0.0.5', 22],
      ],
    );
  });

  test('bad scalars are errors with [section] key (frp would silently keep the default)', () => {
    assert.deepEqual(clientProblems('[common]\nserver_port = 7000x\nlogin_fail_exit = maybe\n[ssh]\nlocal_port = 22\nremote_port = 6000 # ssh\n'), [
      '[common] server_port: expected a whole number, got "7000x"',
      '[common] login_fail_exit: expected true or false (also yes/no, on/off, 1/0), got "maybe"',
      '[ssh] remote_port: expected a whole number, got "6000 # ssh" (INI has no comments after a value: put the comment on its own line)',
    ]);
  });

  test('schema errors are reported where the user wrote them', () => {
    assert.deepEqual(
      clientProblems(
        '[common]\nserver_port = 70000\nprivilege_token = t\nlog_levl = debug\n[ssh]\nlocal_prot = 22\ncustom_domains = a.com\n[v]\nrole = visitor\ntype = stcp\n',
      ),
      [
        '[common] privilege_token: unknown key; it was renamed to token',
        '[common] log_levl: unknown key, did you mean log_level?',
        '[ssh] local_prot: unknown key, did you mean local_port?',
        '[common] server_port: 70000 is out of range 1–65535',
        '[ssh] custom_domains: not valid for type "tcp"',
        '[v] server_name: required',
        '[ssh] local_port: required',
        '[v] bind_port: required: the local port to listen on (negative = no listener)',
      ],
    );
  });

  test('frps.ini keys burrow refuses at load still map to their TOML keys (the refusal then names them)', () => {
    const text =
      '[common]\ndashboard_tls_mode = true\ndashboard_tls_cert_file = a\ndashboard_tls_key_file = b\npprof_enable = true\ntcp_keepalive = 3600\n' +
      'nat_hole_analysis_data_reserve_hours = 24\n[plugin.pm]\naddr = 127.0.0.1:9001\npath = /handler\nops = NewProxy,CloseProxy\ntlsVerify = true\n';
    const m = mapServerIni({ file: parseIni(text), label: '' });
    assert.deepEqual([m.problems, m.warnings], [[], []]);
    assert.deepEqual(m.raw, {
      webServer: { tls: { certFile: 'a', keyFile: 'b' }, pprofEnable: true },
      transport: { tcpKeepalive: 3600 },
      natholeAnalysisDataReserveHours: 24,
      httpPlugins: [{ name: 'pm', addr: '127.0.0.1:9001', path: '/handler', ops: ['NewProxy', 'CloseProxy'], tlsVerify: true }],
    });
  });

  test("frps.ini: burrow's automatic HTTPS keys (acme_*) land on the acme table, lists split as frp's", () => {
    const text =
      '[common]\nvhost_https_port = 443\nacme_email = ops@example.com\nacme_domains = *.example.com,nas.example.org\n' +
      'acme_storage = ./certs\nacme_challenges = tls-alpn-01\nacme_redirect_http = false\nacme_renew_before_days = 20\n';
    const m = mapServerIni({ file: parseIni(text), label: '' });
    assert.deepEqual([m.problems, m.warnings], [[], []]);
    assert.deepEqual(m.raw, {
      vhostHTTPSPort: 443,
      acme: {
        email: 'ops@example.com',
        domains: ['*.example.com', 'nas.example.org'],
        storage: './certs',
        challenges: ['tls-alpn-01'],
        redirectHTTP: false,
        renewBeforeDays: 20,
      },
    });
  });

  test('frps.ini: dashboard TLS only with dashboard_tls_mode, 0.0.0.0 dashboard default, [plugin.NAME] sections', () => {
    const text =
      '[common]\nbind_port = 7000\ndashboard_port = 7500\ndashboard_tls_cert_file = a.crt\nauthenticate_new_work_conns = true\n' +
      '[plugin.auth]\naddr = 127.0.0.1:9000\npath = /h\nops = Login,NewProxy\n[ssh]\nlocal_port = 22\n';
    const m = mapServerIni({ file: parseIni(text), label: '' });
    assert.deepEqual(m.problems, []);
    assert.deepEqual(m.raw, {
      bindPort: 7000,
      webServer: { port: 7500, addr: '0.0.0.0' },
      auth: { additionalScopes: ['NewWorkConns'] },
      httpPlugins: [{ name: 'auth', addr: '127.0.0.1:9000', path: '/h', ops: ['Login', 'NewProxy'] }],
    });
    assert.deepEqual(m.warnings, [
      '[common] dashboard_tls_cert_file: ignored because dashboard_tls_mode is not true, as frp does',
      '[ssh]: ignored by the server (only [common] and [plugin.NAME] are read)',
    ]);
  });
});
