import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../../src/config/template.js';

test('{{ .Envs.NAME }} inserts the variable; text without templates is untouched', () => {
  const r = renderTemplate('addr = "{{ .Envs.ADDR }}"\nport = {{.Envs.PORT}}\n', { ADDR: '10.0.0.1', PORT: '7000' });
  assert.equal(r.text, 'addr = "10.0.0.1"\nport = 7000\n');
  assert.deepEqual([r.warnings, r.problems], [[], []]);
  assert.equal(renderTemplate('a = "b" # {not a template}', {}).text, 'a = "b" # {not a template}');
});

test('a missing variable renders as <no value>, as frp, and warns with its line', () => {
  const r = renderTemplate('a = 1\ntoken = {{ .Envs.MISSING }}\n', {});
  assert.equal(r.text, 'a = 1\ntoken = <no value>\n');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^line 2: environment variable MISSING is not set; .*\{\{ or \.Envs\.MISSING "value" \}\}/);
  assert.deepEqual(r.problems, []);
});

test('{{ or .Envs.NAME "default" }} is the warning-free path; an empty variable also falls back', () => {
  const tpl = 'user = {{ or .Envs.FRP_USER "guest" }}';
  assert.deepEqual(renderTemplate(tpl, {}), { text: 'user = guest', warnings: [], problems: [] });
  assert.equal(renderTemplate(tpl, { FRP_USER: '' }).text, 'user = guest');
  assert.equal(renderTemplate(tpl, { FRP_USER: 'alice' }).text, 'user = alice');
  assert.equal(renderTemplate('{{ or .Envs.A .Envs.B `raw"q` }}', { B: 'b' }).text, 'b');
  const bothMissing = renderTemplate('{{ or .Envs.A .Envs.B }}', {});
  assert.equal(bothMissing.text, '<no value>');
  assert.equal(bothMissing.warnings.length, 1);
});

test('index .Envs "NAME" reaches names that are not identifiers; trim markers and comments follow Go', () => {
  assert.equal(renderTemplate('{{ index .Envs "MY-VAR" }}', { 'MY-VAR': 'x' }).text, 'x');
  assert.equal(renderTemplate('a = \n  {{- .Envs.V -}}  \n!', { V: 'v' }).text, 'a =v!');
  assert.equal(renderTemplate('a{{/* gone */}}b', {}).text, 'ab');
});

test('other template actions are errors with their line, not silently kept', () => {
  const r = renderTemplate('a = 1\n{{ if .Envs.X }}\nx\n{{ with $y }}', {});
  assert.equal(r.problems.length, 2);
  assert.match(r.problems[0]!, /^line 2: unsupported template action "\{\{ if \.Envs\.X \}\}"/);
  assert.match(r.problems[1]!, /^line 4: unsupported template action/);
  assert.match(renderTemplate('a = {{ .Envs.X', {}).problems[0]!, /^line 1: template action "\{\{" is never closed/);
});

test('range over frp\'s parseNumberRangePair: one copy of the body per pair (frp\'s e2e "Range ports mapping")', () => {
  const tpl = [
    'webServer.port = 7400',
    '{{- range $_, $v := parseNumberRangePair "13010-13012,13014" "23010-23012,23014" }}',
    '[[proxies]]',
    'name = "tcp-{{ $v.First }}"',
    'localPort = {{ $v.First }}',
    'remotePort = {{ $v.Second }}',
    '{{- end }}',
    '',
  ].join('\n');
  const r = renderTemplate(tpl, {});
  assert.deepEqual([r.problems, r.warnings], [[], []]);
  const pairs = [...r.text.matchAll(/name = "tcp-(\d+)"\nlocalPort = (\d+)\nremotePort = (\d+)/g)].map((m) => m.slice(1).map(Number));
  assert.deepEqual(pairs, [
    [13010, 13010, 23010],
    [13011, 13011, 23011],
    [13012, 13012, 23012],
    [13014, 13014, 23014],
  ]);
  assert.ok(r.text.startsWith('webServer.port = 7400\n[[proxies]]'), 'the trim marker eats the newline before the range');
  assert.equal(renderTemplate('{{ range $i, $p := parseNumberRange .Envs.P }}{{ $i }}:{{ $p }} {{ end }}', { P: ' 1-3 ' }).text, '0:1 1:2 2:3 ');
});

test('range mistakes are errors with the line; lists and output are bounded', () => {
  const one = (tpl: string): string[] => renderTemplate(tpl, {}).problems;
  assert.deepEqual(one('{{ range $v := parseNumberRangePair "1-3" "1-2" }}{{ end }}'), [
    'line 1: parseNumberRangePair: first and second range numbers are not in pairs (3 and 2)',
  ]);
  assert.deepEqual(one('\n{{ range $v := parseNumberRange "5-1" }}{{ end }}'), [
    'line 2: parseNumberRange "5-1": range number is invalid: "5-1" ends before it starts',
  ]);
  assert.deepEqual(one('{{ range $v := parseNumberRange "1-3" }}{{ $w }}{{ $v.First }}{{ end }}'), [
    'line 1: undefined variable "$w"',
    'line 1: $v is a number; it has no field First',
  ]);
  assert.deepEqual(one('{{ range $v := parseNumberRange "1" }}'), ['line 1: this range has no "{{ end }}"']);
  assert.deepEqual(one('{{ end }}'), ['line 1: "{{ end }}" without a range']);
  assert.deepEqual(one('{{ range $v := parseNumberRange "1-99999999" }}{{ end }}'), ['line 1: parseNumberRange "1-99999999": more than 65536 numbers']);
  const big = '{{ range $a := parseNumberRange "1-60000" }}{{ range $b := parseNumberRange "1-60000" }}xxxxxxxx{{ end }}{{ end }}';
  assert.deepEqual(one(big), ['the rendered template is larger than 4 MiB']);
});
