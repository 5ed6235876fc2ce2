import { BurrowError } from '../util/errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port` from plugin.localAddr; refused at start, not per connection. */
export function parseLocalAddr(value: string | undefined, pluginType: string): HostPort {
  const text = value ?? '';
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  if (!m || host === '' || port < 1 || port > 65535) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `plugin.localAddr: plugin ${pluginType} needs "host:port", got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

/** `host:port` as a URL authority (IPv6 in brackets). */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
