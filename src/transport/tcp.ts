/**
 * Plain TCP: dialling with a bounded connect, and the socket settings and
 * option checks that the TLS and listening sides share.
 */
import net from 'node:net';
import { BurrowError, describeError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';
import type { DialOptions } from './index.js';
import { withRelayBuffers } from '../util/socket-buffers.js';

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;
export const DEFAULT_KEEPALIVE_MS = 7_200_000;
export const DEFAULT_SNIFF_TIMEOUT_MS = 10_000;
/** Upper bound for a configured wait, so a typo cannot park a socket for days. */
const MAX_WAIT_MS = 3_600_000;
const MAX_KEEPALIVE_MS = 86_400_000;

/** Latency matters more than packet count for a tunnel; keepalive finds dead peers. */
export function tuneSocket(socket: net.Socket, keepAliveMs: number): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, keepAliveMs);
}

export function checkWait(value: number | undefined, fallback: number, what: string, max = MAX_WAIT_MS): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms <= 0 || ms > max) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `${what} must be between 1 and ${max} ms, got ${ms}`);
  }
  return ms;
}

export function checkPort(port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `port must be an integer from ${allowZero ? 0 : 1} to 65535, got ${port}`);
  }
}

export function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

const READABLE_SYSCALL_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EADDRNOTAVAIL: 'local address not available',
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
};

/** "connection refused (ECONNREFUSED)" rather than Node's "connect ECONNREFUSED 127.0.0.1:1". */
export function describeSocketError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const readable = code === undefined ? undefined : READABLE_SYSCALL_ERRORS[code];
  return readable ? `${readable} (${code})` : describeError(err);
}

/** A connected TCP socket, tuned; rejects with BURROW_DIAL_FAILED or BURROW_TIMEOUT. */
export async function dialTcp(opts: DialOptions): Promise<net.Socket> {
  checkPort(opts.port, false);
  if (opts.host.length === 0) throw new BurrowError('BURROW_CONFIG_INVALID', 'dial host is empty');
  const timeoutMs = checkWait(opts.timeoutMs, DEFAULT_DIAL_TIMEOUT_MS, 'dial timeout');
  const keepAliveMs = checkWait(opts.keepAliveMs, DEFAULT_KEEPALIVE_MS, 'TCP keepalive delay', MAX_KEEPALIVE_MS);
  const target = formatAddress(opts.host, opts.port);

  const socket = net.connect(
    withRelayBuffers({
      host: opts.host,
      port: opts.port,
      // Work connections relay half-closes (one side done sending, the other not).
      allowHalfOpen: true,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    }),
  );
  const connected = new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      socket.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      socket.off('connect', onConnect);
      reject(new BurrowError('BURROW_DIAL_FAILED', `cannot connect to ${target}: ${describeSocketError(err)}`, { cause: err }));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
  try {
    await withTimeout(connected, timeoutMs, `connecting to ${target}`);
  } catch (err) {
    socket.destroy();
    throw err;
  }
  tuneSocket(socket, keepAliveMs);
  return socket;
}
