/**
 * The TCP path to the server under every TCP-based transport: straight to
 * host:port, or through the configured HTTP/SOCKS5 proxy. Either way the
 * result is a connected socket that carries bytes to the server.
 */
import type net from 'node:net';
import type { DialOptions } from './index.js';
import { httpConnect } from './http-connect.js';
import { parseProxyUrl, redactProxyUrl } from './proxy-url.js';
import { resolveHost } from './resolve.js';
import { socks5Connect } from './socks5.js';
import { dialTcp } from './tcp.js';

export async function openRoute(opts: DialOptions, timeoutMs: number): Promise<net.Socket> {
  const started = Date.now();
  const left = (): number => Math.max(1, timeoutMs - (Date.now() - started));
  if (!opts.proxyURL) {
    const host = await resolveHost(opts.host, opts.dnsServer, timeoutMs);
    return dialTcp({ ...opts, host, timeoutMs: left() });
  }

  const proxy = parseProxyUrl(opts.proxyURL);
  const proxyHost = await resolveHost(proxy.host, opts.dnsServer, timeoutMs);
  const socket = await dialTcp({ ...opts, host: proxyHost, port: proxy.port, timeoutMs: left() }).catch((err: unknown) => {
    if (err instanceof Error) err.message = `proxy ${redactProxyUrl(opts.proxyURL ?? '')}: ${err.message}`;
    throw err;
  });
  try {
    // The server's name goes to the proxy unresolved: it may only resolve there.
    if (proxy.kind === 'http') await httpConnect(socket, proxy, opts.host, opts.port, left());
    else await socks5Connect(socket, proxy, opts.host, opts.port, left());
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}
