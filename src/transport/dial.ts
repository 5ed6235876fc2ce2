/**
 * The client side of each TCP-based transport, as one linear function per
 * kind. Layer order follows frpc:
 *   tcp:       route (direct or proxy) → [0x17] → [TLS]
 *   websocket: route → websocket to /~!frp (Host = host:port) → [0x17] → [TLS]
 *   wss:       route → TLS (always, no 0x17) → websocket (Host = TLS server name)
 * One budget (the dial timeout) covers every step.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { DialOptions } from './index.js';
import { openRoute } from './route.js';
import { checkWait, DEFAULT_DIAL_TIMEOUT_MS, formatAddress } from './tcp.js';
import { startClientTls } from './tls.js';
import { openClientWebSocket } from './websocket.js';

function budget(opts: DialOptions): { total: number; left(): number } {
  const total = checkWait(opts.timeoutMs, DEFAULT_DIAL_TIMEOUT_MS, 'dial timeout');
  const started = Date.now();
  return { total, left: () => Math.max(1, total - (Date.now() - started)) };
}

/** A connected net.Socket, or a tls.TLSSocket whose handshake is done. */
export async function dialTcpOrTls(opts: DialOptions): Promise<Duplex> {
  const time = budget(opts);
  const socket = await openRoute(opts, time.total);
  if (!opts.tls) return socket;
  return startClientTls(socket, opts, opts.tls, time.left());
}

export async function dialWebSocket(opts: DialOptions): Promise<Duplex> {
  const time = budget(opts);
  const target = formatAddress(opts.host, opts.port);
  const socket = await openRoute(opts, time.total);
  const ws = await openClientWebSocket(socket, target, target, time.left());
  if (!opts.tls) return ws;
  return startClientTls(ws, opts, opts.tls, time.left());
}

export async function dialWss(opts: DialOptions): Promise<Duplex> {
  const time = budget(opts);
  const target = formatAddress(opts.host, opts.port);
  const socket = await openRoute(opts, time.total);
  // wss is TLS whatever tls.enable says; frpc sends no 0x17 marker here.
  const tlsOptions = { ...opts.tls, customFirstByte: false };
  const secure = await startClientTls(socket, opts, tlsOptions, time.left());
  const serverName = tlsOptions.serverName ?? opts.host;
  const hostHeader = net.isIPv6(serverName) ? `[${serverName}]` : serverName;
  return openClientWebSocket(secure, hostHeader, target, time.left());
}
