import { basename, dirname, relative, resolve } from 'node:path';
import { BurrowError } from '../util/errors.js';
import { checkClient, checkServer } from './checks.js';
import { clientSchema } from './client-schema.js';
import { globFiles } from './glob.js';
import { parseIni, splitIniList, type IniFile } from './ini.js';
import { iniCommonValue, mapClientIni, mapServerIni, type IniSource } from './ini-map.js';
import { canonicalKeys } from './key-case.js';
import { formatProblem, isPlainObject, validate, type ProblemSink } from './schema-engine.js';
import { serverSchema } from './server-schema.js';
import { detectFormat, parseStructured, readIncludes, readRendered, type ConfigFormat } from './sources.js';
import type { Env } from './template.js';
import type { ClientConfig, ServerConfig, ValidatedClientConfig } from './types.js';
import { mergeUsersFile } from './users-file.js';
import { anchorValueSource, resolveTokenSource } from './value-source.js';

export type { ConfigFormat } from './sources.js';
export type ConfigKind = 'server' | 'client';

/**
 * Thrown with every problem of a file at once; `problems` holds one line each.
 * `warnings` carries what was noticed on the way (an unset environment variable
 * often explains a problem), without counting as a problem.
 */
export class ConfigError extends BurrowError {
  constructor(
    readonly problems: string[],
    source: string,
    readonly warnings: string[] = [],
  ) {
    super('BURROW_CONFIG_INVALID', `${source}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}

export interface BuildOptions {
  /** rewrites a TOML path (`proxies[0].remotePort`) into where the user wrote it (`[ssh] remote_port`) */
  translatePath?: (path: string) => string;
  /** directory that relative paths (auth.tokenSource) are read from; default: the working directory */
  baseDir?: string;
  onWarning?: (message: string) => void;
  /** frp's `--allow-unsafe` features this run allows (`TokenSourceExec`); default none */
  allowUnsafe?: readonly string[];
  /**
   * false: an exec tokenSource is checked but its program is not run, and
   * auth.token stays empty (verify; reload, which does not apply the token live)
   */
  runTokenExec?: boolean;
  /** the entries to check in place of the users file's own (the dashboard's edit, before it is written) */
  usersFileOverride?: readonly unknown[];
}

export interface LoadOptions extends Pick<BuildOptions, 'allowUnsafe' | 'runTokenExec' | 'usersFileOverride'> {
  /** values for `{{ .Envs.NAME }}`; default: process.env */
  env?: Env;
  onWarning?: (message: string) => void;
}

interface LoadedFile {
  format: ConfigFormat;
  /** validated with defaults filled, before load-time resolution; what `burrow convert` writes */
  normalized: Record<string, unknown>;
  warnings: string[];
}
export type LoadedServerFile = LoadedFile & { kind: 'server'; config: ServerConfig };
export type LoadedClientFile = LoadedFile & { kind: 'client'; config: ClientConfig };
export type LoadedConfigFile = LoadedServerFile | LoadedClientFile;

interface Built<T, N = T> {
  config: T;
  /** validated with defaults filled, before load-time resolution */
  normalized: N;
  problems: string[];
  warnings: string[];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Fills frp's transport defaults that depend on other keys (heartbeats follow tcpMux). */
function resolveHeartbeats(t: { tcpMux: boolean; heartbeatTimeout: number; heartbeatInterval?: number }): void {
  if (!t.tcpMux) {
    if (t.heartbeatTimeout === -1) t.heartbeatTimeout = 90;
    if (t.heartbeatInterval === -1) t.heartbeatInterval = 30;
  }
}

/** The sinks that put a problem or a warning, at the path the user wrote, into `built`. */
function sinksFor(built: { problems: string[]; warnings: string[] }, options: BuildOptions): { error: ProblemSink; warn: ProblemSink } {
  const where = options.translatePath ?? ((p: string) => p);
  return {
    error: (p, m) => void built.problems.push(formatProblem(where(p), m)),
    warn: (p, m) => void built.warnings.push(formatProblem(where(p), m)),
  };
}

function buildServer(given: unknown, options: BuildOptions): Built<ServerConfig> {
  const baseDir = options.baseDir ?? process.cwd();
  // The users file's [[users]] are validated with the config's own, their problems named by file.
  const merged = mergeUsersFile(given, baseDir, options.usersFileOverride);
  const raw = merged.raw;
  const built: Pick<Built<unknown>, 'problems' | 'warnings'> = { problems: [...merged.problems], warnings: [] };
  const sinks = sinksFor(built, { ...options, translatePath: (p) => merged.translate(p) ?? options.translatePath?.(p) ?? p });
  const cfg = validate(serverSchema, canonicalKeys(serverSchema, raw, '', sinks.error), '', sinks.error);
  checkServer(cfg, sinks, options.allowUnsafe);
  // What the file itself says (burrow convert): the users file's entries stay in their own file.
  const normalized = { ...structuredClone(cfg), users: structuredClone(cfg.users.slice(0, merged.own)) };
  resolveHeartbeats(cfg.transport);
  if (cfg.proxyBindAddr === '') cfg.proxyBindAddr = cfg.bindAddr;
  // As frpc's store path: relative to the config file, so the dashboard writes where SIGHUP reads.
  if (cfg.usersFile !== '') cfg.usersFile = resolve(baseDir, cfg.usersFile);
  if (cfg.transport.tls.trustedCaFile !== '') cfg.transport.tls.force = true;
  // As frpc's store path: relative to the config file (only when acme is on, so an unused default stays as written).
  if (cfg.acme.domains.length > 0) {
    cfg.acme.storage = resolve(baseDir, cfg.acme.storage);
    if (cfg.acme.trustedCaFile !== '') cfg.acme.trustedCaFile = resolve(baseDir, cfg.acme.trustedCaFile);
  }
  // As frp, only for token auth: with OIDC the token is only the control cipher's key, and frp leaves it empty then.
  if (built.problems.length === 0 && cfg.auth.method === 'token') resolveTokenSource(cfg.auth, 'auth.tokenSource', resolveOptions(options), sinks.error);
  for (const w of built.warnings) options.onWarning?.(w);
  return { ...built, config: cfg, normalized };
}

function resolveOptions(options: BuildOptions): { baseDir: string; runExec: boolean } {
  return { baseDir: options.baseDir ?? process.cwd(), runExec: options.runTokenExec !== false };
}

function buildClient(raw: unknown, options: BuildOptions): Built<ClientConfig, ValidatedClientConfig> {
  const built: Pick<Built<unknown>, 'problems' | 'warnings'> = { problems: [], warnings: [] };
  const sinks = sinksFor(built, options);
  const canonical = canonicalKeys(clientSchema, raw, '', sinks.error);
  const validated = validate(clientSchema, canonical, '', sinks.error);
  checkClient(validated, canonical, sinks, options.allowUnsafe);
  const normalized = structuredClone(validated);
  resolveHeartbeats(validated.transport);
  const cfg: ClientConfig = { ...validated, proxies: validated.proxies.map((p) => ({ ...p, remotePort: p.remotePort ?? 0 })) };
  // As frpc: a relative store path is taken from the config file's directory.
  if (cfg.store.path !== '') cfg.store.path = resolve(options.baseDir ?? process.cwd(), cfg.store.path);
  // As frp, only for token auth: with OIDC the token is only the control cipher's key, and frp leaves it empty then.
  if (built.problems.length === 0 && cfg.auth.method === 'token') resolveTokenSource(cfg.auth, 'auth.tokenSource', resolveOptions(options), sinks.error);
  // Read at every Login (and scoped Ping/NewWorkConn), so its paths are fixed now.
  if (cfg.auth.oidc.tokenSource) anchorValueSource(cfg.auth.oidc.tokenSource, resolveOptions(options).baseDir);
  for (const w of built.warnings) options.onWarning?.(w);
  return { ...built, config: cfg, normalized };
}

export function buildServerConfig(raw: unknown, source = 'server config', options: BuildOptions = {}): ServerConfig {
  const b = buildServer(raw, options);
  if (b.problems.length > 0) throw new ConfigError(b.problems, source);
  return deepFreeze(b.config);
}

export function buildClientConfig(raw: unknown, source = 'client config', options: BuildOptions = {}): ClientConfig {
  const b = buildClient(raw, options);
  if (b.problems.length > 0) throw new ConfigError(b.problems, source);
  return deepFreeze(b.config);
}

export function loadServerConfig(file: string, options: LoadOptions = {}): ServerConfig {
  return loadConfigFile(file, { ...options, kind: 'server' }).config;
}

export function loadClientConfig(file: string, options: LoadOptions = {}): ClientConfig {
  return loadConfigFile(file, { ...options, kind: 'client' }).config;
}

const SERVER_HINTS = [
  'bindPort',
  'bindAddr',
  'kcpBindPort',
  'quicBindPort',
  'proxyBindAddr',
  'vhostHTTPPort',
  'vhostHTTPSPort',
  'tcpmuxHTTPConnectPort',
  'subDomainHost',
  'allowPorts',
  'maxPortsPerClient',
  'httpPlugins',
  'custom404Page',
  'enablePrometheus',
  'sshTunnelGateway',
];
const CLIENT_HINTS = ['serverAddr', 'serverPort', 'proxies', 'visitors', 'includes', 'user', 'loginFailExit', 'start', 'clientID', 'natHoleStunServer'];
const INI_SERVER_HINTS = [
  'bind_port',
  'bind_addr',
  'kcp_bind_port',
  'quic_bind_port',
  'vhost_http_port',
  'vhost_https_port',
  'dashboard_port',
  'allow_ports',
  'subdomain_host',
  'max_pool_count',
  'max_ports_per_client',
  'tcpmux_httpconnect_port',
];
const INI_CLIENT_HINTS = ['server_addr', 'server_port', 'admin_port', 'login_fail_exit', 'pool_count', 'includes', 'start'];

/**
 * Server or client, from the keys: bindPort & co. mean a server, serverAddr or
 * proxies a client. Undecided (neither, or both) falls back to the file name
 * (`frps.*` / `frpc.*`), then to undefined.
 */
export function detectKind(data: unknown, file = ''): ConfigKind | undefined {
  let server = false;
  let client = false;
  if (isIniFile(data)) {
    const common = data.sections.find((s) => s.name === 'common');
    server = INI_SERVER_HINTS.some((k) => common?.entries.has(k)) || data.sections.some((s) => s.name.startsWith('plugin.'));
    client =
      INI_CLIENT_HINTS.some((k) => common?.entries.has(k)) ||
      data.sections.some((s) => !['common', 'DEFAULT'].includes(s.name) && !s.name.startsWith('plugin.'));
  } else if (isPlainObject(data)) {
    // Keys match ignoring case, as frp decodes them (key-case.ts).
    const keys = new Set(Object.keys(data).map((k) => k.toLowerCase()));
    server = SERVER_HINTS.some((k) => keys.has(k.toLowerCase()));
    client = CLIENT_HINTS.some((k) => keys.has(k.toLowerCase()));
  }
  if (server !== client) return server ? 'server' : 'client';
  const name = basename(file).toLowerCase();
  if (name.startsWith('frps')) return 'server';
  if (name.startsWith('frpc')) return 'client';
  return undefined;
}

function isIniFile(v: unknown): v is IniFile {
  return isPlainObject(v) && Array.isArray(v.sections) && Array.isArray(v.problems);
}

/**
 * Reads a configuration file of any supported format, server or client (told
 * by `kind` or detected), and validates it. Throws ConfigError with every
 * problem; warnings are returned and passed to `onWarning`.
 */
export function loadConfigFile(file: string, options: LoadOptions & { kind: 'server' }): LoadedServerFile;
export function loadConfigFile(file: string, options: LoadOptions & { kind: 'client' }): LoadedClientFile;
export function loadConfigFile(file: string, options?: LoadOptions & { kind?: ConfigKind }): LoadedConfigFile;
export function loadConfigFile(file: string, options: LoadOptions & { kind?: ConfigKind } = {}): LoadedConfigFile {
  const env = options.env ?? process.env;
  const src = readRendered(file, env);
  if (src.problems.length > 0) throw new ConfigError(src.problems, file, src.warnings);
  const format = detectFormat(file, src.text);
  const baseDir = dirname(file);
  const warnings = [...src.warnings];
  const problems: string[] = [];
  let raw: unknown;
  let translatePath: ((p: string) => string) | undefined;
  let kind = options.kind;
  let mainCounts = { proxies: 0, visitors: 0 };
  if (format === 'ini') {
    const ini = parseIni(src.text);
    kind ??= detectKind(ini, file);
    if (!kind) throw new ConfigError(['cannot tell whether this is a server or a client configuration; pass --kind server|client'], file);
    const main: IniSource = { file: ini, label: '' };
    const mapped = kind === 'server' ? mapServerIni(main) : mapClientIni(main, iniIncludes(ini, file, env, problems, warnings));
    problems.push(...mapped.problems);
    warnings.push(...mapped.warnings);
    raw = mapped.raw;
    translatePath = mapped.translate;
    mainCounts = mapped.mainCounts;
  } else {
    const parsed = parseStructured(src.text, format);
    if (parsed.problem) throw new ConfigError([parsed.problem], file, warnings);
    raw = parsed.value;
    kind ??= detectKind(raw, file);
    if (!kind) throw new ConfigError(['cannot tell whether this is a server or a client configuration; pass --kind server|client'], file);
    if (kind === 'client') raw = canonicalKeys(clientSchema, raw, '', (p, m) => void problems.push(formatProblem(p, m)));
    if (kind === 'client' && isPlainObject(raw)) {
      mainCounts = { proxies: listLength(raw.proxies), visitors: listLength(raw.visitors) };
      const merged = mergeIncludes(raw, file, env, problems, warnings);
      raw = merged.raw;
      translatePath = merged.translate;
    }
  }
  const settle = <T, N>(built: Built<T, N>): T => {
    problems.push(...built.problems);
    warnings.push(...built.warnings);
    if (problems.length > 0) throw new ConfigError(problems, file, warnings);
    for (const w of warnings) options.onWarning?.(w);
    return deepFreeze(built.config);
  };
  if (kind === 'client') {
    const built = buildClient(raw, { translatePath, baseDir, allowUnsafe: options.allowUnsafe, runTokenExec: options.runTokenExec });
    const config = settle(built);
    // What the main file itself says: included entries stay in their own files.
    const normalized = {
      ...built.normalized,
      proxies: built.normalized.proxies.slice(0, mainCounts.proxies),
      visitors: built.normalized.visitors.slice(0, mainCounts.visitors),
    };
    return { kind, format, normalized, warnings, config };
  }
  const built = buildServer(raw, {
    translatePath,
    baseDir,
    allowUnsafe: options.allowUnsafe,
    runTokenExec: options.runTokenExec,
    usersFileOverride: options.usersFileOverride,
  });
  return { kind, format, normalized: built.normalized, warnings, config: settle(built) };
}

function listLength(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

/** INI `includes` in [common]: matched files are INI too, their sections appended (not their [common]). */
function iniIncludes(ini: IniFile, file: string, env: Env, problems: string[], warnings: string[]): IniSource[] {
  const value = iniCommonValue(ini, 'includes');
  if (value === undefined) return [];
  const out: IniSource[] = [];
  for (const pattern of splitIniList(value)) {
    const { files, problem } = globFiles(pattern, dirname(file));
    if (problem) problems.push(`[common] includes: ${problem}`);
    for (const f of files) {
      const label = relative(dirname(file), f) || f;
      const src = readRendered(f, env);
      problems.push(...src.problems.map((p) => `${label}: ${p}`));
      warnings.push(...src.warnings.map((w) => `${label}: ${w}`));
      if (src.problems.length === 0) out.push({ file: parseIni(src.text), label });
    }
  }
  return out;
}

/** TOML/YAML/JSON `includes`: appends the included proxies and visitors, remembering their files for messages. */
function mergeIncludes(
  raw: Record<string, unknown>,
  file: string,
  env: Env,
  problems: string[],
  warnings: string[],
): { raw: Record<string, unknown>; translate: (p: string) => string } {
  const patterns = Array.isArray(raw.includes) ? raw.includes.filter((p): p is string => typeof p === 'string') : [];
  const identity = (p: string): string => p;
  if (patterns.length === 0) return { raw, translate: identity };
  const inc = readIncludes(patterns, file, env);
  problems.push(...inc.problems);
  warnings.push(...inc.warnings);
  const ownProxies = Array.isArray(raw.proxies) ? raw.proxies : [];
  const ownVisitors = Array.isArray(raw.visitors) ? raw.visitors : [];
  const merged = { ...raw };
  if (inc.proxies.length > 0) merged.proxies = [...ownProxies, ...inc.proxies];
  if (inc.visitors.length > 0) merged.visitors = [...ownVisitors, ...inc.visitors];
  const translate = (p: string): string => {
    const m = /^(proxies|visitors)\[(\d+)\](.*)$/.exec(p);
    if (!m) return p;
    const [origins, own] = m[1] === 'proxies' ? [inc.proxyOrigins, ownProxies.length] : [inc.visitorOrigins, ownVisitors.length];
    const i = Number(m[2]);
    return i >= own && origins[i - own] !== undefined ? `${origins[i - own]}${m[3]}` : p;
  };
  return { raw: merged, translate };
}
