/**
 * frp's `dnsServer`: the server name is looked up with that DNS server
 * instead of the system resolver. Without it, names are left to the socket
 * (the system resolver, hosts file included).
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { BurrowError, describeError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';

/** Per-query wait of the resolver; the caller's dial budget bounds the whole lookup. */
const QUERY_TIMEOUT_MS = 2_000;

/** "8.8.8.8", "8.8.8.8:53", "[2001:db8::1]:53" → the form Resolver.setServers takes; throws on anything else. */
export function dnsServerAddress(raw: string): string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  const [ip, port] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : net.isIP(raw) !== 0 ? [raw, undefined] : raw.split(':');
  const ok = ip !== undefined && net.isIP(ip) !== 0 && (port === undefined || (/^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65_536));
  if (!ok) throw new BurrowError('BURROW_CONFIG_INVALID', `dnsServer "${raw}" must be an IP address with an optional port, e.g. 8.8.8.8 or 8.8.8.8:53`);
  const host = net.isIPv6(ip) ? `[${ip}]` : ip;
  return `${host}:${port ?? 53}`;
}

/** An address to connect to: `host` itself when it is an IP or no DNS server is set. */
export async function resolveHost(host: string, dnsServer: string | undefined, timeoutMs: number): Promise<string> {
  if (!dnsServer || net.isIP(host) !== 0) return host;
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 2 });
  resolver.setServers([dnsServerAddress(dnsServer)]);
  const lookup = async (): Promise<string> => {
    let v4Error: unknown;
    try {
      const [first] = await resolver.resolve4(host);
      if (first) return first;
    } catch (err) {
      v4Error = err;
    }
    try {
      const [first] = await resolver.resolve6(host);
      if (first) return first;
    } catch {
      // The IPv4 answer says more (NXDOMAIN, timeout); report that one.
    }
    const code = (v4Error as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'ENOTFOUND' || code === 'ENODATA' || v4Error === undefined ? 'no such name' : describeError(v4Error);
    throw new BurrowError('BURROW_DNS_FAILED', `cannot resolve "${host}" with DNS server ${dnsServer}: ${why}`, { cause: v4Error });
  };
  try {
    return await withTimeout(lookup(), timeoutMs, `resolving "${host}" with DNS server ${dnsServer}`);
  } finally {
    resolver.cancel();
  }
}
