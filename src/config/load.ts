import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { BurrowError, describeError } from '../util/errors.js';
import { applySchema } from './schema.js';
import { clientSchema, serverSchema } from './schemas.js';
import type { ClientConfig, ServerConfig } from './types.js';

/** Thrown with every problem of a file at once; `problems` holds one line each. */
export class ConfigError extends BurrowError {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super('BURROW_CONFIG_INVALID', `${source}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function parseText(text: string, format: string, source: string): unknown {
  try {
    if (format === '.json') return JSON.parse(text) as unknown;
    return parseToml(text);
  } catch (err) {
    throw new ConfigError([`cannot parse ${format.slice(1).toUpperCase()}: ${describeError(err)}`], source);
  }
}

/** Fills frp's transport defaults that depend on other keys (heartbeats follow tcpMux). */
function resolveHeartbeats(t: { tcpMux: boolean; heartbeatTimeout: number; heartbeatInterval?: number }): void {
  if (!t.tcpMux) {
    if (t.heartbeatTimeout === -1) t.heartbeatTimeout = 90;
    if (t.heartbeatInterval === -1) t.heartbeatInterval = 30;
  }
}

export function buildServerConfig(raw: unknown, source = 'server config'): ServerConfig {
  const errors: string[] = [];
  const cfg = applySchema(serverSchema, raw, '', errors) as ServerConfig;
  if (errors.length > 0) throw new ConfigError(errors, source);
  resolveHeartbeats(cfg.transport);
  if (cfg.proxyBindAddr === '') cfg.proxyBindAddr = cfg.bindAddr;
  return deepFreeze(cfg);
}

export function buildClientConfig(raw: unknown, source = 'client config'): ClientConfig {
  const errors: string[] = [];
  const cfg = applySchema(clientSchema, raw, '', errors) as ClientConfig;
  const seen = new Set<string>();
  cfg.proxies.forEach((p, i) => {
    if (seen.has(p.name)) errors.push(`proxies[${i}].name: duplicate proxy name "${p.name}"`);
    seen.add(p.name);
  });
  if (errors.length > 0) throw new ConfigError(errors, source);
  resolveHeartbeats(cfg.transport);
  return deepFreeze(cfg);
}

export function loadServerConfig(file: string): ServerConfig {
  return buildServerConfig(parseText(readText(file), extname(file).toLowerCase(), file), file);
}

export function loadClientConfig(file: string): ClientConfig {
  return buildClientConfig(parseText(readText(file), extname(file).toLowerCase(), file), file);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${describeError(err)}`], file);
  }
}
