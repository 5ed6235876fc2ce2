import { BlockList, isIP } from 'node:net';

/** Entries one list may hold (bounded memory and check time). */
export const MAX_IP_RULES = 1024;

/** A source address as one family sees it: `::ffff:1.2.3.4` (an IPv4 visitor on a dual-stack socket) is 1.2.3.4. */
function plainAddress(address: string): string {
  const a = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

function addEntry(list: BlockList, entry: string): void {
  const [ip = '', bits, extra] = entry.trim().split('/');
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new Error(`"${entry}" is not an IP address or CIDR block (e.g. "192.168.1.0/24", "2001:db8::/32")`);
  }
  list.addSubnet(ip, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * `allowIPs` / `denyIPs` (IPv4 and IPv6, single addresses or CIDR blocks):
 * an address passes when the allow list is empty or holds it, and the deny
 * list does not. Throws a readable Error for a bad entry.
 */
export class IpRules {
  private readonly allow: BlockList | undefined;
  private readonly deny: BlockList | undefined;

  constructor(allow: readonly string[], deny: readonly string[]) {
    if (allow.length > MAX_IP_RULES || deny.length > MAX_IP_RULES) throw new Error(`at most ${MAX_IP_RULES} entries`);
    this.allow = allow.length > 0 ? new BlockList() : undefined;
    this.deny = deny.length > 0 ? new BlockList() : undefined;
    for (const e of allow) addEntry(this.allow!, e);
    for (const e of deny) addEntry(this.deny!, e);
  }

  /** undefined when both lists are empty: nothing to check */
  static from(allow: readonly string[] | undefined, deny: readonly string[] | undefined): IpRules | undefined {
    if (!allow?.length && !deny?.length) return undefined;
    return new IpRules(allow ?? [], deny ?? []);
  }

  allows(address: string): boolean {
    const a = plainAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allow && !this.allow.check(a, type)) return false;
    return !this.deny?.check(a, type);
  }
}
