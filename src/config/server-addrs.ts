import type { ProblemSink } from './schema-engine.js';
import type { ValidatedClientConfig } from './types.js';

/** Sessions one client may hold at once: each costs a connection, a login and every proxy's registration. */
export const MAX_SERVER_ADDRS = 16;

/** `host:port` or `[v6]:port` → its parts; undefined when it is neither. */
export function parseServerAddr(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * `serverAddrs` (burrow's own key, docs/cluster.md): each entry a host:port,
 * no two alike, at most MAX_SERVER_ADDRS. It lists every server, so
 * `serverAddr` may be left out or name the first entry (with `serverPort`);
 * anything else is two answers to one question and is refused.
 */
export function checkServerAddrs(cfg: ValidatedClientConfig, { error }: { error: ProblemSink }): void {
  const list = cfg.serverAddrs;
  if (list.length === 0) return;
  if (list.length > MAX_SERVER_ADDRS) error('serverAddrs', `${list.length} entries; at most ${MAX_SERVER_ADDRS}`);
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    if (!parseServerAddr(entry)) error(`serverAddrs[${i}]`, `"${entry}" is not host:port`);
    else if (seen.has(entry)) error(`serverAddrs[${i}]`, `"${entry}" is listed twice`);
    seen.add(entry);
  });
  const first = parseServerAddr(list[0] ?? '');
  if (first && cfg.serverAddr !== '0.0.0.0' && (cfg.serverAddr !== first.host || cfg.serverPort !== first.port)) {
    error('serverAddr', `set serverAddrs alone (it lists every server, the first one included), or make serverAddr:serverPort its first entry (${list[0]})`);
  }
}
