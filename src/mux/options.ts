import { BurrowError } from '../util/errors.js';
import { INITIAL_STREAM_WINDOW } from './header.js';

export interface YamuxOptions {
  /** Client sessions open odd stream ids (frpc), servers even (frps never opens). */
  client: boolean;
  /** Per-stream receive window we grant; frp sets 6 MiB on both sides. */
  maxStreamWindow?: number;
  /** Ping interval; 0 disables keepalive pings (peer pings are always answered). */
  keepaliveIntervalMs?: number;
  /** A keepalive ping unanswered this long kills the session. */
  keepaliveTimeoutMs?: number;
  /** Inbound streams held while nobody listens for 'stream'; beyond it new ones are reset. */
  acceptBacklog?: number;
  /** Concurrent streams; an inbound stream beyond it is reset, open() throws. */
  maxStreams?: number;
  /** An opened stream the peer has not acknowledged this long kills the session (as in Go); 0 disables. */
  openTimeoutMs?: number;
  /** close() waits at most this long for open streams before destroying them. */
  closeTimeoutMs?: number;
}

export type ResolvedYamuxOptions = Readonly<Required<YamuxOptions>>;

const MAX_U32 = 0xffffffff;

/** Defaults follow frp 0.70 (6 MiB window, 30 s keepalive) and the yamux library it links. */
export function resolveYamuxOptions(opts: YamuxOptions): ResolvedYamuxOptions {
  const resolved = {
    client: opts.client,
    maxStreamWindow: opts.maxStreamWindow ?? 6 * 1024 * 1024,
    keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 30_000,
    keepaliveTimeoutMs: opts.keepaliveTimeoutMs ?? 10_000,
    acceptBacklog: opts.acceptBacklog ?? 256,
    maxStreams: opts.maxStreams ?? 4096,
    openTimeoutMs: opts.openTimeoutMs ?? 75_000,
    closeTimeoutMs: opts.closeTimeoutMs ?? 30_000,
  };
  if (typeof resolved.client !== 'boolean') invalid('client', resolved.client, 'must be true or false');
  checkInt('maxStreamWindow', resolved.maxStreamWindow, INITIAL_STREAM_WINDOW, MAX_U32);
  checkInt('keepaliveIntervalMs', resolved.keepaliveIntervalMs, 0, 2 ** 31 - 1);
  checkInt('keepaliveTimeoutMs', resolved.keepaliveTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('acceptBacklog', resolved.acceptBacklog, 0, 1_000_000);
  checkInt('maxStreams', resolved.maxStreams, 1, 1_000_000);
  checkInt('openTimeoutMs', resolved.openTimeoutMs, 0, 2 ** 31 - 1);
  checkInt('closeTimeoutMs', resolved.closeTimeoutMs, 1, 2 ** 31 - 1);
  return Object.freeze(resolved);
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) invalid(name, value, `must be an integer in ${min}..${max}`);
}

function invalid(name: string, value: unknown, why: string): never {
  throw new BurrowError('BURROW_CONFIG_INVALID', `yamux option ${name}=${String(value)} ${why}`);
}
