/**
 * The client's outbound proxy (frp `transport.proxyURL`, INI `http_proxy`):
 * `http://[user:pass@]host:port` (HTTP CONNECT) or
 * `socks5://[user:pass@]host:port`. Parsed once; pure, no sockets.
 */
import { BurrowError } from '../util/errors.js';

export interface ProxyTarget {
  kind: 'http' | 'socks5';
  host: string;
  port: number;
  /** Present when the URL carries a user name (the password may be empty). */
  auth?: { user: string; password: string };
}

const DEFAULT_PORTS: Record<ProxyTarget['kind'], number> = { http: 80, socks5: 1080 };

/** The proxy URL without its password, for logs and error messages. */
export function redactProxyUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable proxy URL)';
  }
}

export function parseProxyUrl(raw: string): ProxyTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BurrowError('BURROW_CONFIG_INVALID', `proxy URL "${redactProxyUrl(raw)}" is not a URL; expected http://host:port or socks5://host:port`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'socks5') {
    // frp also knows ntlm://; burrow does not speak NTLM.
    throw new BurrowError('BURROW_CONFIG_INVALID', `proxy scheme "${scheme}" is not supported; use http:// (CONNECT) or socks5://`);
  }
  // URL keeps IPv6 literals in brackets; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new BurrowError('BURROW_CONFIG_INVALID', `proxy URL "${redactProxyUrl(raw)}" has no host`);
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new BurrowError('BURROW_CONFIG_INVALID', `proxy URL "${redactProxyUrl(raw)}" must not have a path`);
  }
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  const target: ProxyTarget = { kind: scheme, host, port };
  if (url.username !== '') {
    target.auth = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  return target;
}

/**
 * The `http_proxy` environment variable for reaching `host`, as frpc falls
 * back to it when no proxyURL is configured, except (burrow's choice, which
 * frpc does not make) for a loopback server and for hosts listed in
 * `no_proxy` (`*`, names, `.suffix` or `suffix` domains, IP addresses):
 * a developer's proxy setting must not capture a tunnel to this machine.
 */
export function proxyFromEnvironment(host: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.http_proxy;
  if (!url) return undefined;
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\./.test(name)) return undefined;
  for (const raw of (env.no_proxy ?? env.NO_PROXY ?? '').split(',')) {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, '');
    if (entry === '') continue;
    if (entry === '*') return undefined;
    const suffix = entry.startsWith('.') ? entry : `.${entry}`;
    if (name === entry.replace(/^\./, '') || name.endsWith(suffix)) return undefined;
  }
  return url;
}
