import { isIPv6 } from 'node:net';
/** A peer address as frp reports it: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) shown as plain IPv4. */
export function visitorAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** `ip:port` as Go's net.Addr prints it (`[v6]:port`), IPv4-mapped IPv6 shown as IPv4. */
export function hostPort(addr: string | undefined, port: number | undefined): string {
  const host = visitorAddress(addr);
  return `${isIPv6(host) ? `[${host}]` : host}:${port ?? 0}`;
}

/** An IP address as network-order bytes (4 or 16), for encoders (X.509 alt names, SOCKS5). */
export function ipBytes(address: string, version: 4 | 6): Buffer {
  if (version === 4) return Buffer.from(address.split('.').map((part) => Number(part)));
  // Expand "::" and any embedded IPv4 tail into eight 16-bit groups.
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map((octet) => Number(octet));
          return [(a << 8) | b, (c << 8) | d];
        });
  const headGroups = toGroups(head);
  const tailGroups = toGroups(tail);
  const groups = [...headGroups, ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => {
    bytes.writeUInt16BE(group, i * 2);
  });
  return bytes;
}

/**
 * The key a source address is counted under: an IPv4 address as itself
 * (IPv4-mapped IPv6 included), an IPv6 address by its /64, since one host
 * is commonly given a whole /64 and could otherwise step around the cap.
 */
export function addressKey(remote: string | undefined): string {
  const addr = visitorAddress(remote);
  if (!isIPv6(addr)) return addr;
  const bytes = ipBytes(addr.split('%')[0] ?? addr, 6);
  return `${bytes.subarray(0, 8).toString('hex')}::/64`;
}
