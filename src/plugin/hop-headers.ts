import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 7.6.1) that a proxy never forwards, as Go's ReverseProxy. */
const HOP_BY_HOP = [
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Copies `headers` without hop-by-hop ones, without those the Connection
 * header names, and without HTTP/2 pseudo-headers. `te: trailers` is kept.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = new Set(HOP_BY_HOP);
  for (const token of String(headers.connection ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') drop.add(name);
  }
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || drop.has(name)) continue;
    out[name] = value;
  }
  if (
    typeof headers.te === 'string' &&
    headers.te
      .toLowerCase()
      .split(',')
      .some((t) => t.trim() === 'trailers')
  )
    out.te = 'trailers';
  return out;
}

/** The protocol asked for by an HTTP/1.1 Upgrade request, or undefined. */
export function upgradeProtocol(headers: IncomingHttpHeaders): string | undefined {
  const connection = String(headers.connection ?? '').toLowerCase();
  const upgrade = headers.upgrade;
  return upgrade && connection.split(',').some((t) => t.trim() === 'upgrade') ? upgrade : undefined;
}
