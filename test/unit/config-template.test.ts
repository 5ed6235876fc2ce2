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
  const r = renderTemplate('a = 1\n{{ range $v := parseNumberRange "1-3" }}\nx\n{{ end }}', {});
  assert.equal(r.problems.length, 2);
  assert.match(r.problems[0]!, /^line 2: unsupported template action "\{\{ range \$v := parseNumberRange "1-3" \}\}"/);
  assert.match(r.problems[1]!, /^line 4: unsupported template action/);
  assert.match(renderTemplate('a = {{ .Envs.X', {}).problems[0]!, /^line 1: template action "\{\{" is never closed/);
});
