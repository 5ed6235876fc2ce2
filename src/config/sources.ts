import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, relative } from 'node:path';
import { describeError } from '../util/errors.js';
import { globFiles } from './glob.js';
import { isPlainObject } from './schema-engine.js';
import { renderTemplate, type Env } from './template.js';
import { parseTomlText } from './toml.js';
import { parseYamlText } from './yaml.js';

export type ConfigFormat = 'ini' | 'toml' | 'yaml' | 'json';

/** Config files are small; anything bigger is a mistake (a log file passed with -c). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface SourceText {
  text: string;
  problems: string[];
  warnings: string[];
}

/** Reads a file and renders its `{{ .Envs.NAME }}` template, bounded in size. */
export function readRendered(file: string, env: Env): SourceText {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) return { text: '', problems: [`the file is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES}`], warnings: [] };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { text: '', problems: [`cannot read the file: ${describeError(err)}`], warnings: [] };
  }
  const r = renderTemplate(text, env);
  return { text: r.text, problems: r.problems, warnings: r.warnings };
}

/**
 * The format by extension: `.ini`, `.toml`, `.yaml`/`.yml`, `.json`. Any other
 * extension (or none) as frp decides: INI when the text has a `[common]`
 * section, else TOML when it parses as TOML, else JSON when it starts with
 * `{`, else YAML.
 */
export function detectFormat(file: string, text: string): ConfigFormat {
  switch (extname(file).toLowerCase()) {
    case '.ini':
      return 'ini';
    case '.toml':
      return 'toml';
    case '.yaml':
    case '.yml':
      return 'yaml';
    case '.json':
      return 'json';
  }
  if (/^[ \t]*\[common\]/m.test(text)) return 'ini';
  if (parseTomlText(text).problem === undefined) return 'toml';
  if (/^\s*\{/.test(text)) return 'json';
  return 'yaml';
}

/** TOML, YAML or JSON text → plain data, or one problem line. */
export function parseStructured(text: string, format: Exclude<ConfigFormat, 'ini'>): { value?: unknown; problem?: string } {
  if (format === 'toml') return parseTomlText(text);
  if (format === 'yaml') return parseYamlText(text);
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    // The message quotes the text around the error as it is; a problem stays one line.
    return { problem: `cannot parse JSON: ${describeError(err).replace(/[\r\n\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}` };
  }
}

export interface IncludedEntries {
  proxies: unknown[];
  visitors: unknown[];
  /** where entry i of each list came from: `confd/web.toml: proxies[0]` */
  proxyOrigins: string[];
  visitorOrigins: string[];
  problems: string[];
  warnings: string[];
}

/**
 * Reads the files a client's `includes` patterns match and keeps their
 * `proxies` and `visitors`, as frp does; other keys in them are ignored with a
 * warning. A relative pattern is taken from the directory of the including
 * file — frp takes it from the working directory, which breaks as soon as frpc
 * runs as a service; an absolute pattern means the same in both.
 */
export function readIncludes(patterns: readonly string[], mainFile: string, env: Env): IncludedEntries {
  const out: IncludedEntries = { proxies: [], visitors: [], proxyOrigins: [], visitorOrigins: [], problems: [], warnings: [] };
  const baseDir = dirname(mainFile);
  patterns.forEach((pattern, i) => {
    const { files, problem } = globFiles(pattern, baseDir);
    if (problem) out.problems.push(`includes[${i}]: ${problem}`);
    if (!problem && files.length === 0) out.warnings.push(`includes[${i}]: "${pattern}" matches no file`);
    for (const file of files) {
      const label = relative(baseDir, file) || file;
      const src = readRendered(file, env);
      out.problems.push(...src.problems.map((p) => `${label}: ${p}`));
      out.warnings.push(...src.warnings.map((w) => `${label}: ${w}`));
      if (src.problems.length > 0) continue;
      const format = detectFormat(file, src.text);
      if (format === 'ini') {
        out.problems.push(`${label}: an INI file can only be included from an INI configuration`);
        continue;
      }
      const parsed = parseStructured(src.text, format);
      if (parsed.problem) {
        out.problems.push(`${label}: ${parsed.problem}`);
        continue;
      }
      const value = parsed.value;
      if (!isPlainObject(value)) {
        out.problems.push(`${label}: expected a table with proxies and visitors`);
        continue;
      }
      // `Proxies` is `proxies`, as in the main file (key-case.ts); the entries themselves are matched when the whole is built.
      for (const k of Object.keys(value)) {
        const lower = k.toLowerCase();
        if ((lower === 'proxies' || lower === 'visitors') && k !== lower && value[lower] === undefined) {
          value[lower] = value[k];
          delete value[k];
        }
      }
      const ignored = Object.keys(value).filter((k) => k !== 'proxies' && k !== 'visitors');
      if (ignored.length > 0) out.warnings.push(`${label}: only proxies and visitors are read from an included file; ignored: ${ignored.join(', ')}`);
      for (const [key, list, origins] of [
        ['proxies', out.proxies, out.proxyOrigins],
        ['visitors', out.visitors, out.visitorOrigins],
      ] as const) {
        const entries = value[key];
        if (entries === undefined) continue;
        if (!Array.isArray(entries)) {
          out.problems.push(`${label}: ${key}: expected a list`);
          continue;
        }
        entries.forEach((e: unknown, j) => {
          list.push(e);
          origins.push(`${label}: ${key}[${j}]`);
        });
      }
    }
  });
  return out;
}
