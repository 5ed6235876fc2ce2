import {
  CLIENT_COMMON_KEYS,
  CLIENT_COMMON_PREFIXES,
  CLIENT_COMMON_SPECIAL,
  HTTP_PLUGIN_KEYS,
  IGNORED_KEYS,
  PROXY_KEYS,
  PROXY_PREFIXES,
  RENAMED_KEYS,
  SERVER_COMMON_KEYS,
  SERVER_COMMON_SPECIAL,
  VISITOR_KEYS,
  reverseKey,
  type KeyTable,
  type PrefixMap,
} from './ini-keys.js';
import { INI_DEFAULT_SECTION, parseIniBool, parseIniInt, parseNumberRanges, splitIniList, type IniEntry, type IniFile, type IniSection } from './ini.js';
import { clientSchema } from './client-schema.js';
import { proxySchema, visitorSchema } from './proxy-schema.js';
import { closestKey, schemaAt, type SchemaNode } from './schema-engine.js';
import { serverSchema } from './server-schema.js';

/**
 * Turns parsed INI sections into the TOML-shaped object the schema validates,
 * so INI and TOML files produce the same typed config. It also remembers where
 * each value came from, so an error about `proxies[0].remotePort` is shown as
 * `[ssh] remote_port`, the way the user wrote it.
 *
 * frp silently ignores a scalar it cannot parse (`bind_port = abc` keeps the
 * default). burrow reports it instead, with the section and key: a typo that
 * leaves a port at its default is the kind of silent failure people lose hours
 * to.
 */
export interface IniMapResult {
  raw: Record<string, unknown>;
  problems: string[];
  warnings: string[];
  /** TOML path of a schema error → `[section] ini_key` */
  translate: (path: string) => string;
  /** how many proxies/visitors the main file holds (the rest came from includes) */
  mainCounts: { proxies: number; visitors: number };
}

/** A file's sections and how they are named in messages (`confd/a.ini [web]` for an included file). */
export interface IniSource {
  file: IniFile;
  /** prefix for section labels; empty for the main file */
  label: string;
}

interface Root {
  prefix: string;
  label: string;
  tables: readonly KeyTable[];
  prefixes: readonly PrefixMap[];
}

const SERVER_SPECIAL_REVERSE: KeyTable = {
  'webServer.tls': 'dashboard_tls_mode',
  'webServer.tls.certFile': 'dashboard_tls_cert_file',
  'webServer.tls.keyFile': 'dashboard_tls_key_file',
  'webServer.pprofEnable': 'pprof_enable',
  'auth.additionalScopes': 'authenticate_heartbeats',
};

/** Most proxies a `[range:…]` section, and all of them together, may expand to. */
const RANGE_LIMIT = 65535;

class Mapper {
  readonly raw: Record<string, unknown> = {};
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  private readonly origins = new Map<string, string>();
  private readonly roots: Root[] = [];

  root(prefix: string, label: string, tables: readonly KeyTable[], prefixes: readonly PrefixMap[]): void {
    this.roots.push({ prefix, label, tables, prefixes });
  }

  /** Converts `entry.value` by the schema kind at `path` and stores it; problems name the INI key. */
  put(target: Record<string, unknown>, schema: SchemaNode, rootPath: string, path: string, entry: IniEntry, label: string): void {
    const where = `${label} ${entry.key}`;
    const node = schemaAt(schema, path.split('.'));
    let value: unknown = entry.value;
    if (node?.kind === 'int') {
      const n = parseIniInt(entry.value);
      if (!n) {
        const hint = /[#;]/.test(entry.value) ? ' (INI has no comments after a value: put the comment on its own line)' : '';
        this.problems.push(`${where}: expected a whole number, got "${entry.value}"${hint}`);
        return;
      }
      if (n.octal && n.value !== 0) this.warnings.push(`${where}: "${entry.value}" starts with 0 and is read as octal (${n.value}), as frp does`);
      value = n.value;
    } else if (node?.kind === 'bool') {
      const b = parseIniBool(entry.value);
      if (b === undefined) {
        this.problems.push(`${where}: expected true or false (also yes/no, on/off, 1/0), got "${entry.value}"`);
        return;
      }
      value = b;
    } else if (node?.kind === 'stringList') {
      value = splitIniList(entry.value);
    }
    setPath(target, path.split('.'), value);
    this.record(rootPath, path, where);
  }

  /** The value at `rootPath.path` came from `where`; its enclosing tables too, unless already known. */
  private record(rootPath: string, path: string, where: string): void {
    const parts = path.split('.');
    for (let i = 1; i <= parts.length; i++) {
      const p = [...(rootPath ? [rootPath] : []), ...parts.slice(0, i)].join('.');
      if (!this.origins.has(p) || i === parts.length) this.origins.set(p, where);
    }
  }

  /** Maps every own key of a section through `table`, prefix maps and the specials the caller handles. */
  mapSection(
    entries: readonly IniEntry[],
    target: Record<string, unknown>,
    schema: SchemaNode,
    rootPath: string,
    label: string,
    table: KeyTable,
    prefixes: readonly PrefixMap[],
    special: ReadonlySet<string>,
  ): void {
    for (const entry of entries) {
      const to = Object.hasOwn(table, entry.key) ? table[entry.key] : undefined;
      if (to !== undefined) {
        this.put(target, schema, rootPath, to, entry, label);
        continue;
      }
      if (special.has(entry.key) || IGNORED_KEYS.has(entry.key)) continue;
      const pm = prefixes.find((p) => entry.key.startsWith(p.prefix) && entry.key.length > p.prefix.length);
      if (pm) {
        const mapKey = entry.key.slice(pm.prefix.length);
        const parts = pm.to.split('.');
        const map = (getPath(target, parts) as Record<string, unknown> | undefined) ?? {};
        map[mapKey] = entry.value;
        setPath(target, parts, map);
        this.record(rootPath, `${pm.to}.${mapKey}`, `${label} ${entry.key}`);
        continue;
      }
      const renamed = RENAMED_KEYS[entry.key];
      const hint = renamed ? `; it was renamed to ${renamed}` : closestKey(entry.key, [...Object.keys(table), ...special]);
      this.problems.push(`${label} ${entry.key}: unknown key${renamed ? hint : hint ? `, did you mean ${hint}?` : ''}`);
    }
  }

  translate = (path: string): string => {
    const exact = this.origins.get(path) ?? this.origins.get(path.replace(/\[\d+\]$/, ''));
    if (exact) return exact;
    let best: Root | undefined;
    for (const r of this.roots) {
      const inside = r.prefix === '' || path === r.prefix || path.startsWith(`${r.prefix}.`);
      if (inside && (!best || r.prefix.length > best.prefix.length)) best = r;
    }
    if (!best) return path;
    const rest = best.prefix === '' ? path : path.slice(best.prefix.length + 1);
    if (rest === '') return best.label;
    return `${best.label} ${reverseKey(best.tables, best.prefixes, rest) ?? rest}`;
  };

  mainCounts = { proxies: 0, visitors: 0 };
  /** proxies still allowed from range sections, so a file cannot expand without bound */
  rangeBudget = RANGE_LIMIT;

  result(): IniMapResult {
    return { raw: this.raw, problems: this.problems, warnings: this.warnings, translate: this.translate, mainCounts: this.mainCounts };
  }
}

function findSection(file: IniFile, name: string): IniSection | undefined {
  return file.sections.find((s) => s.name === name);
}

function warnDefaultSection(m: Mapper, src: IniSource): void {
  const def = findSection(src.file, INI_DEFAULT_SECTION);
  if (def && def.entries.size > 0) {
    m.warnings.push(`${src.label ? `${src.label}: ` : ''}keys before the first section are ignored, as frp does (${[...def.entries.keys()].join(', ')})`);
  }
}

export function mapServerIni(src: IniSource): IniMapResult {
  const m = new Mapper();
  m.problems.push(...src.file.problems);
  m.warnings.push(...src.file.warnings);
  warnDefaultSection(m, src);
  const common = findSection(src.file, 'common');
  if (!common) m.problems.push('[common]: section missing; frp reads an INI file only when it has one');
  const label = '[common]';
  m.root('', label, [SERVER_COMMON_KEYS, SERVER_SPECIAL_REVERSE], []);
  if (common) {
    const entries = [...common.entries.values()];
    m.mapSection(entries, m.raw, serverSchema, '', label, SERVER_COMMON_KEYS, [], SERVER_COMMON_SPECIAL);
    mapServerSpecials(m, common, label);
    mapScopes(m, common, label);
  }
  const plugins: Record<string, unknown>[] = [];
  for (const section of src.file.sections) {
    if (section.name === 'common' || section.name === INI_DEFAULT_SECTION) continue;
    if (!section.name.startsWith('plugin.')) {
      m.warnings.push(`[${section.name}]: ignored by the server (only [common] and [plugin.NAME] are read)`);
      continue;
    }
    const i = plugins.length;
    const name = section.name.slice('plugin.'.length).trim();
    const target: Record<string, unknown> = { name };
    const pLabel = `[${section.name}]`;
    m.root(`httpPlugins[${i}]`, pLabel, [HTTP_PLUGIN_KEYS], []);
    const schema = schemaAt(serverSchema, ['httpPlugins']) ?? serverSchema;
    m.mapSection([...section.entries.values()], target, schema, `httpPlugins[${i}]`, pLabel, HTTP_PLUGIN_KEYS, [], new Set(['name']));
    plugins.push(target);
  }
  if (plugins.length > 0) m.raw.httpPlugins = plugins;
  return m.result();
}

/** Dashboard TLS and pprof are carried over only with `dashboard_tls_mode = true`, as frp. */
function mapServerSpecials(m: Mapper, common: IniSection, label: string): void {
  const get = (k: string): IniEntry | undefined => common.entries.get(k);
  const modeEntry = get('dashboard_tls_mode');
  let mode = false;
  if (modeEntry) {
    const b = parseIniBool(modeEntry.value);
    if (b === undefined) m.problems.push(`${label} dashboard_tls_mode: expected true or false, got "${modeEntry.value}"`);
    mode = b === true;
  }
  const web = (m.raw.webServer as Record<string, unknown> | undefined) ?? {};
  if (mode) {
    web.tls = { certFile: get('dashboard_tls_cert_file')?.value ?? '', keyFile: get('dashboard_tls_key_file')?.value ?? '' };
    const pprof = get('pprof_enable');
    if (pprof) m.put(web, schemaAt(serverSchema, ['webServer']) ?? serverSchema, 'webServer', 'pprofEnable', pprof, label);
  } else {
    for (const k of ['dashboard_tls_cert_file', 'dashboard_tls_key_file', 'pprof_enable']) {
      if (get(k)) m.warnings.push(`${label} ${k}: ignored because dashboard_tls_mode is not true, as frp does`);
    }
  }
  // frps.ini's dashboard listens on 0.0.0.0 unless told otherwise (frps.toml's default is 127.0.0.1).
  if (get('dashboard_port') && !get('dashboard_addr')) web.addr = '0.0.0.0';
  if (Object.keys(web).length > 0) m.raw.webServer = web;
}

function mapScopes(m: Mapper, common: IniSection, label: string): void {
  const scopes: string[] = [];
  for (const [key, scope] of [
    ['authenticate_heartbeats', 'HeartBeats'],
    ['authenticate_new_work_conns', 'NewWorkConns'],
  ] as const) {
    const e = common.entries.get(key);
    if (!e) continue;
    const b = parseIniBool(e.value);
    if (b === undefined) m.problems.push(`${label} ${key}: expected true or false, got "${e.value}"`);
    if (b) scopes.push(scope);
  }
  if (scopes.length > 0) setPath(m.raw, ['auth', 'additionalScopes'], scopes);
}

/** The client's `[common]` value of `key`, before any mapping (used to find `includes`). */
export function iniCommonValue(file: IniFile, key: string): string | undefined {
  return findSection(file, 'common')?.entries.get(key)?.value;
}

export function mapClientIni(main: IniSource, included: readonly IniSource[] = []): IniMapResult {
  const m = new Mapper();
  for (const src of [main, ...included]) {
    const prefix = src.label ? `${src.label}: ` : '';
    m.problems.push(...src.file.problems.map((p) => prefix + p));
    m.warnings.push(...src.file.warnings.map((w) => prefix + w));
    warnDefaultSection(m, src);
  }
  const common = findSection(main.file, 'common');
  if (!common) m.problems.push('[common]: section missing; frp reads an INI file only when it has one');
  m.root('', '[common]', [CLIENT_COMMON_KEYS], CLIENT_COMMON_PREFIXES);
  if (common) {
    m.mapSection([...common.entries.values()], m.raw, clientSchema, '', '[common]', CLIENT_COMMON_KEYS, CLIENT_COMMON_PREFIXES, CLIENT_COMMON_SPECIAL);
    mapScopes(m, common, '[common]');
  }
  const proxies: Record<string, unknown>[] = [];
  const visitors: Record<string, unknown>[] = [];
  for (const src of [main, ...included]) {
    const byName = new Map(src.file.sections.map((s) => [s.name, s]));
    for (const section of src.file.sections) {
      if (section.name === INI_DEFAULT_SECTION) continue;
      if (section.name === 'common') {
        if (src !== main) m.warnings.push(`${src.label}: [common] in an included file is ignored, as frp does`);
        continue;
      }
      for (const unit of expandRange(m, section, src.label)) {
        const entries = withInherited(unit.section, byName);
        const roleEntry = entries.find((e) => e.key === 'role');
        const role = roleEntry?.value ?? '';
        if (role !== '' && role !== 'server' && role !== 'visitor') {
          m.problems.push(`${unit.label} role: expected server or visitor, got "${role}"`);
          continue;
        }
        const isVisitor = role === 'visitor';
        const list = isVisitor ? visitors : proxies;
        const rootPath = `${isVisitor ? 'visitors' : 'proxies'}[${list.length}]`;
        const table = isVisitor ? VISITOR_KEYS : PROXY_KEYS;
        const prefixes = isVisitor ? [] : PROXY_PREFIXES;
        const target: Record<string, unknown> = { name: unit.name };
        m.root(rootPath, unit.label, [table], prefixes);
        const ignore = new Set(['role', 'name']);
        m.mapSection(entries, target, isVisitor ? visitorSchema : proxySchema, rootPath, unit.label, table, prefixes, ignore);
        list.push(target);
      }
    }
    if (src === main) m.mainCounts = { proxies: proxies.length, visitors: visitors.length };
  }
  if (proxies.length > 0) m.raw.proxies = proxies;
  if (visitors.length > 0) m.raw.visitors = visitors;
  return m.result();
}

interface Unit {
  name: string;
  label: string;
  section: IniSection;
}

/** A plain section is one unit; `[range:NAME]` becomes NAME_0, NAME_1, … with the i-th port pair. */
function expandRange(m: Mapper, section: IniSection, fileLabel: string): Unit[] {
  const label = `${fileLabel ? `${fileLabel} ` : ''}[${section.name}]`;
  if (!section.name.startsWith('range:')) return [{ name: section.name, label, section }];
  const prefix = section.name.slice('range:'.length).trim();
  const local = section.entries.get('local_port');
  const remote = section.entries.get('remote_port');
  if (!local || !remote) {
    m.problems.push(`${label} ${local ? 'remote_port' : 'local_port'}: required in a range section`);
    return [];
  }
  const locals = parseNumberRanges(local.value, m.rangeBudget);
  const remotes = parseNumberRanges(remote.value, m.rangeBudget);
  const why = (msg: string): string =>
    m.rangeBudget < RANGE_LIMIT && msg.startsWith('more than') ? `more than ${RANGE_LIMIT} ports from all range sections together` : msg;
  if (typeof locals === 'string') m.problems.push(`${label} local_port: ${why(locals)}`);
  if (typeof remotes === 'string') m.problems.push(`${label} remote_port: ${why(remotes)}`);
  if (typeof locals === 'string' || typeof remotes === 'string') return [];
  if (locals.length !== remotes.length) {
    m.problems.push(`${label} remote_port: ${remotes.length} port(s) for ${locals.length} local port(s); the lists must have the same length`);
    return [];
  }
  m.rangeBudget -= locals.length;
  return locals.map((lp, i) => {
    const entries = new Map(section.entries);
    entries.set('local_port', { ...local, value: String(lp) });
    entries.set('remote_port', { ...remote, value: String(remotes[i]) });
    const name = `${prefix}_${i}`;
    return { name, label: `${label} (${name})`, section: { name, line: section.line, entries } };
  });
}

/**
 * Own keys plus, for a dotted name like `[nas.web]`, the keys of `[nas]` it does
 * not set itself: frp's INI library looks a missing key up in the parent section.
 * Prefix keys (`meta_…`) are read from the section alone, as frp.
 */
function withInherited(section: IniSection, byName: ReadonlyMap<string, IniSection>): IniEntry[] {
  const out = [...section.entries.values()];
  const have = new Set(section.entries.keys());
  for (let name = section.name, dot = name.lastIndexOf('.'); dot > 0; dot = name.lastIndexOf('.')) {
    name = name.slice(0, dot);
    const parent = byName.get(name);
    if (!parent) continue;
    for (const e of parent.entries.values()) {
      const plain = Object.hasOwn(PROXY_KEYS, e.key) || Object.hasOwn(VISITOR_KEYS, e.key) || e.key === 'role';
      if (plain && !have.has(e.key)) {
        out.push(e);
        have.add(e.key);
      }
    }
  }
  return out;
}

function getPath(obj: Record<string, unknown>, parts: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of parts) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let cur = obj;
  parts.slice(0, -1).forEach((p) => {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  });
  cur[parts[parts.length - 1]!] = value;
}
