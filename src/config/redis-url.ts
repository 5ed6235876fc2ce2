/**
 * What `cluster.redis` names: one Redis by URL (redis://, rediss://), or the
 * primary a set of Sentinels monitors under a name:
 *
 *   redis+sentinel://[[user]:password@]host1:26379[,host2:26379…]/mastername[/db]
 *
 * The user and password are the primary's (and its replicas'), not the
 * Sentinels'. A port left out is Sentinel's 26379. Parsed by hand: a URL
 * parser reads only one host.
 */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
      /** the name the Sentinels monitor the primary under */
      readonly name: string;
      readonly username: string;
      readonly password: string;
      readonly db: number;
    };

export const SENTINEL_SCHEME = 'redis+sentinel://';
/** Sentinels one URL may list (a deployment runs three or five). */
const MAX_SENTINELS = 16;
const DEFAULT_SENTINEL_PORT = 26379;

/** The target `text` names; throws an Error saying what is wrong (the caller names the key). */
export function parseRedisTarget(text: string): RedisTarget {
  if (!text.startsWith(SENTINEL_SCHEME)) {
    if (!/^rediss?:\/\//.test(text) || !URL.canParse(text))
      throw new Error(`must be a redis:// or rediss:// URL, or ${SENTINEL_SCHEME}host:26379[,host:26379…]/mastername`);
    return { kind: 'url', url: text };
  }
  const rest = text.slice(SENTINEL_SCHEME.length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const { username, password } = at < 0 ? { username: '', password: '' } : credentials(authority.slice(0, at));
  const hosts = (at < 0 ? authority : authority.slice(at + 1)).split(',');
  if (hosts.length > MAX_SENTINELS) throw new Error(`lists ${hosts.length} Sentinels (at most ${MAX_SENTINELS})`);
  const sentinels = hosts.map(sentinelAddress);
  const [name = '', dbText, ...extra] = path.split('/');
  if (name === '') throw new Error(`names no primary: ${SENTINEL_SCHEME}host:26379[,host:26379…]/mastername[/db]`);
  if (!/^[\w.:-]+$/.test(name)) throw new Error(`primary name "${name}" has characters a Sentinel name does not`);
  if (extra.length > 0 || (dbText !== undefined && !/^\d{1,5}$/.test(dbText))) throw new Error('the part after the primary name must be a database number');
  return { kind: 'sentinel', sentinels, name, username, password, db: dbText === undefined ? 0 : Number(dbText) };
}

function credentials(userinfo: string): { username: string; password: string } {
  const colon = userinfo.indexOf(':');
  try {
    return colon < 0
      ? { username: decodeURIComponent(userinfo), password: '' }
      : { username: decodeURIComponent(userinfo.slice(0, colon)), password: decodeURIComponent(userinfo.slice(colon + 1)) };
  } catch {
    throw new Error('the user or password is not valid percent-encoding');
  }
}

function sentinelAddress(hostPort: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/?#@\s]+))(?::(\d{1,5}))?$/.exec(hostPort);
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? DEFAULT_SENTINEL_PORT : Number(m[3]);
  if (!host || port < 1 || port > 65_535) throw new Error(`Sentinel address "${hostPort}" is not host:port`);
  return { host, port };
}
