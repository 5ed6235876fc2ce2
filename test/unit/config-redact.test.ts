import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactConfigText, secretsLeft } from '../../src/admin/config-redact.js';

test('redaction: every config spelling of a secret is hidden, the rest kept as written', () => {
  const ini = '[common]\nserver_addr = x.example\ntoken = abc def\nadmin_pwd=pw1\n\n[s]\ntype = stcp\nsk = k1\nhttp_pwd: pw2\nmeta_token_hint = shown\n';
  assert.equal(
    redactConfigText(ini, 'frpc.ini'),
    '[common]\nserver_addr = x.example\ntoken = "<redacted>"\nadmin_pwd="<redacted>"\n\n[s]\ntype = stcp\nsk = "<redacted>"\nhttp_pwd: "<redacted>"\nmeta_token_hint = shown\n',
  );
  const toml =
    'auth = { method = "token", token = "t1" }\nwebServer.password = \'p1\'\n[[proxies]]\nsecretKey = "a\\"b" # why\nauth.tokenSource.type = "file"\n';
  assert.equal(
    redactConfigText(toml, 'frpc.toml'),
    'auth = { method = "token", token = "<redacted>" }\nwebServer.password = "<redacted>"\n[[proxies]]\nsecretKey = "<redacted>" # why\nauth.tokenSource.type = "file"\n',
  );
  const yaml = 'auth:\n  token: my secret token\nproxies:\n  - name: a\n    httpPassword: "x"\n';
  assert.equal(redactConfigText(yaml, 'frpc.yaml'), 'auth:\n  token: "<redacted>"\nproxies:\n  - name: a\n    httpPassword: "<redacted>"\n');
  const json = '{"auth":{"token":"t"},"webServer":{"user":"u","password":"p"}}';
  assert.equal(redactConfigText(json, 'frpc.json'), '{"auth":{"token":"<redacted>"},"webServer":{"user":"u","password":"<redacted>"}}');
});

test('redaction: group keys, Authorization headers and TOML multi-line strings are hidden; what cannot be hidden is caught', () => {
  const cases: Array<[string, string]> = [
    ['a.toml', 'auth.token = """\nS3CRET\n"""\n'],
    ['a.toml', "auth.token = '''S3CRET'''\n"],
    ['a.toml', '[[proxies]]\nname = "w"\nloadBalancer.groupKey = "S3CRET"\n'],
    ['a.ini', '[web]\ngroup_key = S3CRET\n'],
    ['a.toml', '[[proxies]]\nrequestHeaders.set.Authorization = "Basic S3CRET"\n'],
    ['a.ini', '[web]\nheader_Authorization = Basic S3CRET\n'],
    ['a.json', '{"auth":{"token":"S3CRET"}}'],
    ['a.toml', 'auth = { token = "S3CRET" }'],
  ];
  for (const [file, text] of cases) {
    const out = redactConfigText(text, file);
    assert.doesNotMatch(out, /S3CRET/, `${file}: ${JSON.stringify(text)}`);
    assert.equal(secretsLeft(out, file), false, `${file}: ${JSON.stringify(out)} parses with nothing showing`);
  }
  // Spellings the patterns miss are not served: the parsed result still shows them.
  for (const [file, text] of [
    ['a.yaml', 'auth:\n  token: |\n    S3CRET\n'],
    ['a.toml', 'auth."token" = "S3CRET"\n'],
  ] as const) {
    assert.equal(secretsLeft(redactConfigText(text, file), file), true, `${file}: ${JSON.stringify(text)}`);
  }
  assert.equal(secretsLeft('serverAddr = "x"\n[[proxies]]\nname = "a"\n', 'frpc.toml'), false, 'a file without secrets is served');
});
