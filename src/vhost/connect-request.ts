/**
 * tcpmux (`multiplexer = httpconnect`, FRP-PROTOCOL §7.5): a visitor opens
 * the tunnel with `CONNECT host:port HTTP/1.1`. The routing host is the
 * target's host, lower-cased, without port; the route user and the
 * credentials come from `Proxy-Authorization`. Bytes after the request head
 * are already tunnel data.
 */
import { BurrowError } from '../util/errors.js';
import { canonicalHost } from './headers.js';
import { basicAuth, RequestHeadParser, type BasicCredentials, type RequestHead, type RequestHeadParserOptions } from './request-head.js';

/** What the server answers (non-passthrough mode) before piping. */
export const CONNECT_ESTABLISHED: Buffer = Buffer.from('HTTP/1.1 200 OK\r\n\r\n', 'latin1');

export interface ConnectRequest {
  head: RequestHead;
  /** The target as sent, e.g. `App.Example.com:443`. */
  authority: string;
  /** The routing host: lower-cased, no port, no trailing dot. */
  host: string;
  /** undefined when the target carried no port. */
  port: number | undefined;
  /** Basic credentials from Proxy-Authorization, if well-formed. */
  credentials: BasicCredentials | undefined;
  /** The route user (routeByHTTPUser): the Proxy-Authorization user, or ''. */
  user: string;
}

function badRequest(message: string): BurrowError {
  return new BurrowError('BURROW_HTTP_BAD_REQUEST', message);
}

/** Splits a CONNECT authority into host and optional port; throws BURROW_HTTP_BAD_REQUEST. */
function splitAuthority(authority: string): { hostPart: string; port: number | undefined } {
  let hostPart = authority;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw badRequest(`invalid CONNECT target ${JSON.stringify(authority.slice(0, 100))}`);
    hostPart = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw badRequest(`invalid CONNECT target ${JSON.stringify(authority.slice(0, 100))}`);
      portText = rest.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      if (authority.indexOf(':') !== colon) throw badRequest('an IPv6 CONNECT target must be in brackets');
      hostPart = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
    }
  }
  if (hostPart === '' || hostPart === '[]') throw badRequest('CONNECT target without a host');
  if (portText === undefined) return { hostPart, port: undefined };
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) throw badRequest(`invalid port in CONNECT target ${JSON.stringify(authority.slice(0, 100))}`);
  return { hostPart, port };
}

/** Reads the routing facts of a parsed CONNECT head; throws BURROW_HTTP_BAD_REQUEST for other methods. */
export function parseConnectRequest(head: RequestHead): ConnectRequest {
  if (head.method !== 'CONNECT') throw badRequest(`expected a CONNECT request, got ${head.method.slice(0, 40)}`);
  const { hostPart, port } = splitAuthority(head.target);
  const credentials = basicAuth(head, 'proxy-authorization');
  return { head, authority: head.target, host: canonicalHost(hostPart), port, credentials, user: credentials?.user ?? '' };
}

/** Incremental reader of the CONNECT request that opens a tcpmux connection. */
export class ConnectRequestParser {
  private readonly parser: RequestHeadParser;

  constructor(opts: RequestHeadParserOptions = {}) {
    this.parser = new RequestHeadParser(opts);
  }

  /** The request once its head is complete; the tunnel bytes after it via takeRemainder(). */
  push(chunk: Buffer): ConnectRequest | undefined {
    const head = this.parser.push(chunk);
    return head === undefined ? undefined : parseConnectRequest(head);
  }

  takeRemainder(): Buffer {
    return this.parser.takeRemainder();
  }
}
