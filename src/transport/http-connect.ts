/**
 * The client half of an HTTP CONNECT tunnel through a forward proxy: ask for
 * host:port, read the answer head, and hand back the same socket, now a
 * byte pipe to the server.
 */
import type net from 'node:net';
import { BurrowError } from '../util/errors.js';
import { StreamReader } from '../util/stream-reader.js';
import { withTimeout } from '../util/timeout.js';
import type { ProxyTarget } from './proxy-url.js';
import { formatAddress } from './tcp.js';

/** A proxy answer head larger than this is not a proxy we can talk to. */
const MAX_RESPONSE_HEAD = 16 * 1024;

export async function httpConnect(socket: net.Socket, proxy: ProxyTarget, host: string, port: number, timeoutMs: number): Promise<void> {
  const target = formatAddress(host, port);
  const via = formatAddress(proxy.host, proxy.port);
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
  if (proxy.auth) {
    const basic = Buffer.from(`${proxy.auth.user}:${proxy.auth.password}`).toString('base64');
    lines.push(`Proxy-Authorization: Basic ${basic}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const head = await withTimeout(readHead(socket, via, timeoutMs), timeoutMs, `HTTP proxy ${via} answering CONNECT ${target}`);
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(head.split('\r\n', 1)[0] ?? '');
  if (!status) throw new BurrowError('BURROW_PROXY_FAILED', `HTTP proxy ${via} sent something that is not an HTTP answer`);
  const code = Number(status[1]);
  if (code >= 200 && code < 300) return;
  throw new BurrowError('BURROW_PROXY_FAILED', `HTTP proxy ${via} refused CONNECT ${target}: ${code} ${status[2] ?? ''}${explain(code, proxy)}`.trimEnd());
}

function explain(code: number, proxy: ProxyTarget): string {
  if (code === 407)
    return proxy.auth ? ' (the proxy rejected the user and password in the proxy URL)' : ' (the proxy wants a user and password in the proxy URL)';
  if (code === 403) return ' (the proxy does not allow this destination)';
  return '';
}

/**
 * Reads up to the blank line; bytes after it (the server's first bytes, if
 * it spoke first) go back into the socket for the next layer.
 */
async function readHead(socket: net.Socket, via: string, timeoutMs: number): Promise<string> {
  const reader = new StreamReader(socket);
  try {
    let buffered = Buffer.alloc(0);
    for (;;) {
      const chunk = await reader.read(timeoutMs, `HTTP proxy ${via} answering CONNECT`);
      if (chunk === null) throw new BurrowError('BURROW_PROXY_FAILED', `HTTP proxy ${via} closed the connection without answering CONNECT`);
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        reader.unshift(buffered.subarray(end + 4));
        return buffered.subarray(0, end).toString('latin1');
      }
      if (buffered.length > MAX_RESPONSE_HEAD) throw new BurrowError('BURROW_PROXY_FAILED', `HTTP proxy ${via} answer head exceeds ${MAX_RESPONSE_HEAD} bytes`);
    }
  } finally {
    reader.detach();
  }
}
