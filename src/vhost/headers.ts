/**
 * Small read-only helpers over a parsed header list: case-insensitive lookup,
 * comma-separated token lists, host canonicalisation and Basic credentials.
 */
import type { HeaderList } from './head-scanner.js';

export type { HeaderList } from './head-scanner.js';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** The first value of header `name` (case-insensitive), or undefined. */
export function getHeader(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.length === lower.length && n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of header `name` (case-insensitive), in arrival order. */
export function getHeaderValues(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (const [n, v] of headers) if (n.length === lower.length && n.toLowerCase() === lower) values.push(v);
  return values;
}

/** The comma-separated elements of every `name` header, trimmed and lower-cased, empty ones dropped. */
export function headerTokens(headers: HeaderList, name: string): string[] {
  const tokens: string[] = [];
  for (const value of getHeaderValues(headers, name)) {
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token !== '') tokens.push(token);
    }
  }
  return tokens;
}

/**
 * Whether the connection stays open after this message (RFC 9112 §9.3):
 * `Connection: close` ends it; HTTP/1.0 needs an explicit keep-alive.
 */
export function isKeepAlive(version: string, headers: HeaderList): boolean {
  const tokens = headerTokens(headers, 'connection');
  if (tokens.includes('close')) return false;
  if (version === 'HTTP/1.0') return tokens.includes('keep-alive');
  return true;
}

/**
 * The host used for routing: lower-cased, port removed, IPv6 brackets
 * removed, one trailing dot removed (`Example.COM.:8080` → `example.com`).
 */
export function canonicalHost(value: string): string {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    host = close > 0 ? host.slice(1, close) : host.slice(1);
  } else {
    const colon = host.indexOf(':');
    // More than one colon is a bare IPv6 address, which has no port to strip.
    if (colon >= 0 && host.indexOf(':', colon + 1) < 0) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a `Basic` credential (scheme case-insensitive, strict base64, user
 * and password split at the first colon); undefined when it is not one.
 */
export function parseBasicAuth(value: string | undefined): BasicCredentials | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length < 6 || trimmed.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const encoded = trimmed.slice(6).trim();
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
