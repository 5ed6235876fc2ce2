import { lazyRequire } from '../util/lazy-require.js';
import { describeError } from '../util/errors.js';
import { isPlainObject } from './schema-engine.js';

/** Most configs are TOML or INI: the YAML parser loads when a YAML file is read. */
const yaml = lazyRequire<typeof import('yaml')>('yaml');

/**
 * YAML as frp reads it: merge keys (`<<: *base`) work, and top-level keys that
 * start with `.` are dropped so they can hold anchors (`.common: &common …`).
 * Duplicate keys are an error; aliases are capped by the parser, so a "billion
 * laughs" document cannot blow up memory.
 */
export function parseYamlText(text: string): { value?: unknown; problem?: string } {
  try {
    const value: unknown = yaml().parse(text, { merge: true, uniqueKeys: true, maxAliasCount: 1000 });
    if (isPlainObject(value)) {
      for (const key of Object.keys(value)) if (key.startsWith('.')) delete value[key];
    }
    return { value: value ?? {} };
  } catch (err) {
    return { problem: `cannot parse YAML: ${describeError(err).split('\n')[0]!.replace(/:$/, '')}` };
  }
}
