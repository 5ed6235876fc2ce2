/**
 * The server side of a SOCKS5 handshake (RFC 1928, user/password RFC 1929),
 * as one linear exchange over exact-length reads. Every field is bounded by
 * its one-byte length, so the most a handshake can hold is a few hundred bytes.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ipBytes } from '../util/address.js';
import { BurrowError } from '../util/errors.js';
import { sameSecret } from '../util/secret.js';
import { StreamReader } from '../util/stream-reader.js';
import type { Credentials } from './basic-auth.js';

export const SOCKS_VERSION = 0x05;
const AUTH_VERSION = 0x01;
const METHOD_NONE = 0x00;
const METHOD_USER_PASS = 0x02;
const METHOD_NO_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** RFC 1928 section 6 reply codes we send. */
export const SOCKS_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export interface SocksRequest {
  host: string;
  port: number;
}

/** Exact-length reads; bytes past the handshake go back to the stream for the relay. */
class ExactReader {
  private readonly reader: StreamReader;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    stream: Duplex,
    private readonly timeoutMs: number,
  ) {
    this.reader = new StreamReader(stream);
  }

  async take(n: number): Promise<Buffer> {
    while (this.pending.length < n) {
      const chunk = await this.reader.read(this.timeoutMs, 'socks5 handshake');
      if (chunk === null) throw new BurrowError('BURROW_CLOSED', 'socks5: the visitor closed during the handshake');
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
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

export function socksReply(code: number, bound?: { address: string; port: number }): Buffer {
  const v6 = bound !== undefined && net.isIPv6(bound.address);
  const addr = bound && net.isIP(bound.address) ? bound.address : '0.0.0.0';
  const head = Buffer.from([SOCKS_VERSION, code, 0x00, v6 ? ATYP_IPV6 : ATYP_IPV4]);
  const addrBytes = ipBytes(addr, v6 ? 6 : 4);
  const port = Buffer.from([((bound?.port ?? 0) >> 8) & 0xff, (bound?.port ?? 0) & 0xff]);
  return Buffer.concat([head, addrBytes, port]);
}

/** A refusal the handshake answers before closing: bytes to write, then why (for the log). */
export class SocksRefusal extends Error {
  constructor(
    readonly answer: Buffer,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads greeting, auth and request; answers everything but the final reply
 * (which depends on the dial). Throws SocksRefusal with the bytes to send.
 */
export async function readSocksRequest(conn: Duplex, credentials: Credentials | undefined, timeoutMs: number): Promise<SocksRequest> {
  const input = new ExactReader(conn, timeoutMs);
  try {
    const [version, methodCount = 0] = await input.take(2);
    if (version !== SOCKS_VERSION) throw new SocksRefusal(Buffer.alloc(0), `not SOCKS5 (version byte ${version ?? '?'})`);
    const methods = await input.take(methodCount);
    const wanted = credentials ? METHOD_USER_PASS : METHOD_NONE;
    if (!methods.includes(wanted)) {
      throw new SocksRefusal(
        Buffer.from([SOCKS_VERSION, METHOD_NO_ACCEPTABLE]),
        credentials ? 'the visitor does not offer user/password auth' : 'the visitor does not offer no-auth',
      );
    }
    conn.write(Buffer.from([SOCKS_VERSION, wanted]));
    if (credentials) {
      const [authVersion, userLength = 0] = await input.take(2);
      if (authVersion !== AUTH_VERSION) throw new SocksRefusal(Buffer.from([AUTH_VERSION, 0x01]), `bad auth version ${authVersion ?? '?'}`);
      const user = (await input.take(userLength)).toString('utf8');
      const [passwordLength = 0] = await input.take(1);
      const password = (await input.take(passwordLength)).toString('utf8');
      const userOk = sameSecret(user, credentials.user);
      const passwordOk = sameSecret(password, credentials.password);
      if (!userOk || !passwordOk) throw new SocksRefusal(Buffer.from([AUTH_VERSION, 0x01]), 'wrong user or password');
      conn.write(Buffer.from([AUTH_VERSION, 0x00]));
    }
    const [requestVersion, command, , atyp] = await input.take(4);
    if (requestVersion !== SOCKS_VERSION) throw new SocksRefusal(socksReply(SOCKS_REPLY.generalFailure), `bad request version ${requestVersion ?? '?'}`);
    let host: string;
    if (atyp === ATYP_IPV4) host = [...(await input.take(4))].join('.');
    else if (atyp === ATYP_IPV6) host = new net.SocketAddress({ address: formatV6(await input.take(16)), family: 'ipv6' }).address;
    else if (atyp === ATYP_DOMAIN) host = (await input.take((await input.take(1))[0] ?? 0)).toString('latin1');
    else throw new SocksRefusal(socksReply(SOCKS_REPLY.addressTypeNotSupported), `address type ${atyp ?? '?'} not supported`);
    const portBytes = await input.take(2);
    const port = portBytes.readUInt16BE(0);
    if (command !== CMD_CONNECT) throw new SocksRefusal(socksReply(SOCKS_REPLY.commandNotSupported), `command ${command ?? '?'} not supported (only CONNECT)`);
    if (host === '' || port === 0) throw new SocksRefusal(socksReply(SOCKS_REPLY.hostUnreachable), 'empty host or port 0');
    return { host, port };
  } finally {
    input.release();
  }
}

function formatV6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
