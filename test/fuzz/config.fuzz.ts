/**
 * Properties of the config loaders: INI (with frp's key mapping), TOML, YAML
 * and JSON text, the Go-template pass, and the schema that validates the
 * result. Garbage is reported as problems or a ConfigError (a BurrowError),
 * never thrown as anything else; a valid config comes back frozen.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientSchema } from '../../src/config/client-schema.js';
import { parseIni } from '../../src/config/ini.js';
import { mapClientIni, mapServerIni } from '../../src/config/ini-map.js';
import { buildClientConfig, buildServerConfig } from '../../src/config/load.js';
import type { SchemaNode } from '../../src/config/schema-engine.js';
import { serverSchema } from '../../src/config/server-schema.js';
import { parseStructured } from '../../src/config/sources.js';
import { renderTemplate } from '../../src/config/template.js';
import { toToml } from '../../src/config/toml.js';
import { BurrowError } from '../../src/util/errors.js';
import { onlyBurrowErrors, target, textWith, type FuzzTarget } from './harness.js';

/** A value for `node`: of the right kind most of the time, of any JSON kind otherwise. */
function valueFor(node: SchemaNode, depth: number): fc.Arbitrary<unknown> {
  const wild = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.constant([]), fc.constant({}));
  const right = ((): fc.Arbitrary<unknown> => {
    switch (node.kind) {
      case 'string':
        return node.oneOf ? fc.oneof(fc.constantFrom(...node.oneOf), fc.string({ maxLength: 8 })) : fc.string({ maxLength: 12 });
      case 'int':
        return fc.oneof(fc.integer({ min: node.min ?? -10, max: Math.min(node.max ?? 100_000, (node.min ?? 0) + 100_000) }), fc.integer());
      case 'bool':
        return fc.boolean();
      case 'stringList':
        return fc.array(node.oneOf ? fc.constantFrom(...node.oneOf) : fc.string({ maxLength: 8 }), { maxLength: 3 });
      case 'stringMap':
        return fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 });
      case 'boolMap':
        return fc.dictionary(fc.string({ maxLength: 6 }), fc.boolean(), { maxKeys: 3 });
      case 'portRanges':
        return fc.oneof(
          fc.array(fc.record({ start: fc.integer({ min: 0, max: 70000 }), end: fc.integer({ min: 0, max: 70000 }) }), { maxLength: 2 }),
          fc.string({ maxLength: 12 }),
        );
      case 'list':
        return depth > 2 ? fc.constant([]) : fc.array(valueFor(node.item, depth + 1), { maxLength: 2 });
      case 'object':
        return depth > 3 ? fc.constant({}) : objectFor(node, depth + 1);
    }
  })();
  return fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: wild });
}

function objectFor(node: Extract<SchemaNode, { kind: 'object' }>, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(node.fields);
  return fc
    .tuple(fc.subarray(names, { maxLength: Math.min(6, names.length) }), fc.option(fc.string({ maxLength: 6 }), { nil: undefined }))
    .chain(([keys, unknownKey]) =>
      fc.record(
        Object.fromEntries([...keys.map((k) => [k, valueFor(node.fields[k]!, depth)]), ...(unknownKey ? [[unknownKey, fc.jsonValue({ maxDepth: 1 })]] : [])]),
      ),
    );
}

const asObject = (s: SchemaNode): Extract<SchemaNode, { kind: 'object' }> => s as Extract<SchemaNode, { kind: 'object' }>;

/** Builds, and checks that a config that builds is frozen and survives TOML output and reading back. */
function buildChecked(kind: 'client' | 'server', raw: unknown): void {
  const build = kind === 'client' ? buildClientConfig : buildServerConfig;
  const built = onlyBurrowErrors(() => build(raw, 'fuzz'));
  if (built instanceof BurrowError) {
    assert.equal(built.code, 'BURROW_CONFIG_INVALID');
    return;
  }
  assert.ok(Object.isFrozen(built));
  const toml = toToml(kind === 'client' ? clientSchema : serverSchema, built);
  const back = parseStructured(toml, 'toml');
  assert.equal(back.problem, undefined, toml);
  assert.deepEqual(build(back.value, 'fuzz (TOML written back)'), built, toml);
}

const INI_PIECES = [
  '[common]\n',
  '[web]\n',
  '[DEFAULT]\n',
  '[range:p]\n',
  '\n',
  '\r\n',
  ' = ',
  '=',
  ':',
  ';',
  '#',
  'type = tcp\n',
  'type = http\n',
  'local_port = 80\n',
  'remote_port = 6000-6002\n',
  'server_port = 7000\n',
  'bind_port = abc\n',
  'token = {{ .Envs.T }}\n',
  'custom_domains = a.test, b.test\n',
  'includes = \n',
  'allow_ports = 1-3,5\n',
  '\uFEFF',
  '[',
  ']',
  'local_port = {{ .Envs.P }}\n',
];

export const configTargets: FuzzTarget[] = [
  target('config/ini: any text maps and builds to a config or a ConfigError (client and server)', () =>
    fc.property(textWith(INI_PIECES, 300), (text) => {
      const file = onlyBurrowErrors(() => parseIni(text));
      if (file instanceof BurrowError) return;
      for (const [mapped, kind] of [
        [mapClientIni({ file, label: '' }), 'client'],
        [mapServerIni({ file, label: '' }), 'server'],
      ] as const) {
        if (mapped.problems.length > 0) continue;
        const build = kind === 'client' ? buildClientConfig : buildServerConfig;
        const built = onlyBurrowErrors(() => build(mapped.raw, 'fuzz.ini', { translatePath: mapped.translate }));
        if (built instanceof BurrowError) assert.equal(built.code, 'BURROW_CONFIG_INVALID');
      }
    }),
  ),
  target('config/toml+yaml+json: any text parses to a value or one problem line, never a throw', () =>
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        textWith(
          [
            '[a]\n',
            '[[proxies]]\n',
            'a = ',
            '"x"',
            "'x'",
            '1',
            'true',
            '{',
            '}',
            '[',
            ']',
            ',',
            '\n',
            ': ',
            '- ',
            '&a ',
            '*a',
            '<<: ',
            '---\n',
            '!!binary ',
            '\t',
            '#',
          ],
          200,
        ),
      ),
      (text) => {
        for (const format of ['toml', 'yaml', 'json'] as const) {
          const r = onlyBurrowErrors(() => parseStructured(text, format));
          if (r instanceof BurrowError) continue;
          assert.ok((r.value !== undefined) !== (r.problem !== undefined) || (format !== 'yaml' && r.value === null), `${format}: ${JSON.stringify(r)}`);
          if (r.problem !== undefined) assert.doesNotMatch(r.problem, /[\r\n\u2028\u2029]/, 'one line');
        }
      },
    ),
  ),
  target('config/template: any text renders or reports problems; env values are inserted as they are', () =>
    fc.property(
      textWith(['{{', '}}', '{{-', '-}}', ' .Envs.A ', ' .Envs.B ', 'index .Envs "A"', 'or .Envs.B "d"', '/*', '*/', '"', '\\', '\n'], 120),
      fc.string({ maxLength: 10 }),
      (text, value) => {
        const r = onlyBurrowErrors(() => renderTemplate(text, { A: value }));
        if (r instanceof BurrowError) return;
        assert.ok(Array.isArray(r.problems) && typeof r.text === 'string');
        assert.equal(renderTemplate('x{{ .Envs.A }}y', { A: value }).text, `x${value}y`);
      },
    ),
  ),
  target('config/schema: any client config data builds (frozen, and the same after TOML out and back) or is a ConfigError', () =>
    fc.property(fc.oneof({ weight: 5, arbitrary: objectFor(asObject(clientSchema), 0) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }), (raw) =>
      buildChecked('client', raw),
    ),
  ),
  target('config/schema: any server config data builds (frozen, and the same after TOML out and back) or is a ConfigError', () =>
    fc.property(fc.oneof({ weight: 5, arbitrary: objectFor(asObject(serverSchema), 0) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }), (raw) =>
      buildChecked('server', raw),
    ),
  ),
];
