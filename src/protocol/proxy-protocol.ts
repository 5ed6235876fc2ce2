/**
 * PROXY protocol headers (HAProxy spec, v1 text and v2 binary) that tell a
 * local service who the visitor really is. Pure: addresses in, bytes out.
 * As frp (go-proxyproto): the family follows the source address; a udp
 * flow gets the v2 UDP codes, and in v1 (which has no UDP) the short
 * `PROXY UNKNOWN` line.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipBytes } from '../util/address.js';

export type ProxyProtocolVersion = 'v1' | 'v2';

export interface ProxyProtocolEndpoint {
  address: string;
  port: number;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_PROXY_COMMAND = 0x21; // version 2, command PROXY
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;
const V2_UDP4 = 0x12;
const V2_UDP6 = 0x22;
const V1_UNKNOWN = 'PROXY UNKNOWN\r\n';

/** What the proxied connection is: a TCP stream (tcp, http, stcp, …) or a UDP flow (udp, sudp). */
export type ProxiedTransport = 'tcp' | 'udp';

const MAPPED_PREFIX = '::ffff:';

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
function unmap(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith(MAPPED_PREFIX) && isIPv4(lower.slice(MAPPED_PREFIX.length)) ? lower.slice(MAPPED_PREFIX.length) : address;
}

/** Both addresses in one family: IPv4 when both can be, else both IPv6 (IPv4 mapped). */
function sameFamily(src: string, dst: string): { family: 4 | 6; src: string; dst: string } | undefined {
  const s = unmap(src);
  const d = unmap(dst);
  if (isIPv4(s) && isIPv4(d)) return { family: 4, src: s, dst: d };
  const toV6 = (a: string): string | undefined => (isIPv4(a) ? MAPPED_PREFIX + a : isIPv6(a) ? a.split('%')[0] : undefined);
  const s6 = toV6(s);
  const d6 = toV6(d);
  return s6 !== undefined && d6 !== undefined ? { family: 6, src: s6, dst: d6 } : undefined;
}

/**
 * The header for one connection, or undefined when an address is not an IP
 * literal (frp then sends none either: its header stays UNSPEC/LOCAL only for
 * non-TCP addresses, which StartWorkConn never carries).
 */
export function encodeProxyProtocolHeader(
  version: ProxyProtocolVersion,
  src: ProxyProtocolEndpoint,
  dst: ProxyProtocolEndpoint,
  transport: ProxiedTransport = 'tcp',
): Buffer | undefined {
  const pair = sameFamily(src.address, dst.address);
  if (!pair) return undefined;
  if (version === 'v1') {
    if (transport === 'udp') return Buffer.from(V1_UNKNOWN, 'latin1');
    const proto = pair.family === 4 ? 'TCP4' : 'TCP6';
    return Buffer.from(`PROXY ${proto} ${pair.src} ${pair.dst} ${src.port} ${dst.port}\r\n`, 'latin1');
  }
  const srcBytes = ipBytes(pair.src, pair.family);
  const dstBytes = ipBytes(pair.dst, pair.family);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(src.port & 0xffff, 0);
  ports.writeUInt16BE(dst.port & 0xffff, 2);
  const body = Buffer.concat([srcBytes, dstBytes, ports]);
  const head = Buffer.alloc(4);
  head[0] = V2_PROXY_COMMAND;
  head[1] = transport === 'udp' ? (pair.family === 4 ? V2_UDP4 : V2_UDP6) : pair.family === 4 ? V2_TCP4 : V2_TCP6;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}
