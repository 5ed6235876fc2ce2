/** A peer address as frp reports it: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) shown as plain IPv4. */
export function visitorAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
