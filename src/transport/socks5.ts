/**
 * The client half of SOCKS5 (RFC 1928) with user/password auth (RFC 1929),
 * CONNECT only. Small enough to own rather than pull in a package: greeting,
 * optional auth, connect request, reply — one linear exchange.
 */
import net from 'node:net';
import { ipBytes } from '../util/address.js';
import { BurrowError } from '../util/errors.js';
import { StreamReader } from '../util/stream-reader.js';
import { withTimeout } from '../util/timeout.js';
import type { ProxyTarget } from './proxy-url.js';
import { formatAddress } from './tcp.js';

const VERSION = 0x05;
const METHOD_NONE = 0x00;
const METHOD_USER_PASS = 0x02;
const METHOD_REFUSED = 0xff;
const AUTH_VERSION = 0x01;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** RFC 1928 section 6 reply codes. */
const REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export async function socks5Connect(socket: net.Socket, proxy: ProxyTarget, host: string, port: number, timeoutMs: number): Promise<void> {
  const via = formatAddress(proxy.host, proxy.port);
  const target = formatAddress(host, port);
  await withTimeout(exchange(socket, proxy, host, port, via, target, timeoutMs), timeoutMs, `SOCKS5 proxy ${via} connecting to ${target}`);
}

async function exchange(socket: net.Socket, proxy: ProxyTarget, host: string, port: number, via: string, target: string, timeoutMs: number): Promise<void> {
  const fail = (why: string): BurrowError => new BurrowError('BURROW_PROXY_FAILED', `SOCKS5 proxy ${via} refused to connect to ${target}: ${why}`);
  const input = new ExactReader(socket, via, timeoutMs);
  try {
    const methods = proxy.auth ? [METHOD_NONE, METHOD_USER_PASS] : [METHOD_NONE];
    socket.write(Buffer.from([VERSION, methods.length, ...methods]));
    const [version, method] = await input.take(2);
    if (version !== VERSION) throw fail(`it answered as SOCKS version ${version ?? '?'}, not 5`);
    if (method === METHOD_REFUSED) throw fail(proxy.auth ? 'it accepts none of our auth methods' : 'it requires a user and password in the proxy URL');
    if (method === METHOD_USER_PASS) {
      if (!proxy.auth) throw fail('it asked for a user and password, and the proxy URL has none');
      const user = Buffer.from(proxy.auth.user);
      const password = Buffer.from(proxy.auth.password);
      if (user.length > 255 || password.length > 255) throw fail('user or password longer than 255 bytes');
      socket.write(Buffer.concat([Buffer.from([AUTH_VERSION, user.length]), user, Buffer.from([password.length]), password]));
      const [, status] = await input.take(2);
      if (status !== 0) throw fail('the user and password in the proxy URL were rejected');
    } else if (method !== METHOD_NONE) {
      throw fail(`it chose auth method ${method ?? '?'}, which we did not offer`);
    }

    socket.write(Buffer.concat([Buffer.from([VERSION, CMD_CONNECT, 0x00]), encodeAddress(host, fail), Buffer.from([port >> 8, port & 0xff])]));
    const [replyVersion, reply, , atyp] = await input.take(4);
    if (replyVersion !== VERSION) throw fail('malformed reply');
    if (reply !== 0) throw fail(REPLIES[reply ?? -1] ?? `reply code ${reply ?? '?'}`);
    // The bound address is of no use to us, but it must be read off the stream.
    const addressLength = atyp === ATYP_IPV4 ? 4 : atyp === ATYP_IPV6 ? 16 : atyp === ATYP_DOMAIN ? ((await input.take(1))[0] ?? 0) : -1;
    if (addressLength < 0) throw fail(`reply with unknown address type ${atyp ?? '?'}`);
    await input.take(addressLength + 2);
  } finally {
    input.release();
  }
}

function encodeAddress(host: string, fail: (why: string) => BurrowError): Buffer {
  if (net.isIPv4(host)) return Buffer.concat([Buffer.from([ATYP_IPV4]), ipBytes(host, 4)]);
  if (net.isIPv6(host)) return Buffer.concat([Buffer.from([ATYP_IPV6]), ipBytes(host, 6)]);
  // Names are resolved by the proxy, so a server name reachable only from the proxy's side works.
  const name = Buffer.from(host);
  if (name.length > 255) throw fail('host name longer than 255 bytes');
  return Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name]);
}

/** Exact-length reads; bytes past the last one asked for go back to the socket. */
class ExactReader {
  private readonly reader: StreamReader;
  private pending = Buffer.alloc(0);

  constructor(
    socket: net.Socket,
    private readonly via: string,
    private readonly timeoutMs: number,
  ) {
    this.reader = new StreamReader(socket);
  }

  async take(n: number): Promise<Buffer> {
    while (this.pending.length < n) {
      const chunk = await this.reader.read(this.timeoutMs, `SOCKS5 proxy ${this.via}`);
      if (chunk === null) throw new BurrowError('BURROW_PROXY_FAILED', `SOCKS5 proxy ${this.via} closed the connection during the handshake`);
      this.pending = Buffer.concat([this.pending, chunk]);
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  release(): void {
    this.reader.unshift(this.pending);
    this.reader.detach();
  }
}
