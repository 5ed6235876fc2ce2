/**
 * QUIC comes from a native module (Cloudflare quiche behind N-API, prebuilt
 * per platform). It is loaded on first use only, so a platform without a
 * prebuilt binary runs every other transport as before and meets one error,
 * naming the key that asked for QUIC, when it is used.
 */
import { BurrowError, describeError } from '../../util/errors.js';

export type QuicModule = typeof import('@matrixai/quic');
/** The library's logger class (a CommonJS module: its class is the default of the default). */
type LoggerModule = typeof import('@matrixai/logger');
type Logger = InstanceType<LoggerModule['default']>;

export interface QuicRuntime {
  quic: QuicModule;
  /** The library logs to stderr unless given a logger; burrow logs what matters itself. */
  silentLogger(): Logger;
}

let loading: Promise<QuicRuntime> | undefined;

async function load(): Promise<QuicRuntime> {
  const [module, logger] = await Promise.all([import('@matrixai/quic'), import('@matrixai/logger')]);
  // A CommonJS module: under Node's own loader its classes are on the default export only.
  const quic = ('QUICClient' in module ? module : (module as unknown as { default: QuicModule }).default) as QuicModule;
  const exports = logger.default as unknown as { default: LoggerModule['default'] };
  const LoggerClass = exports.default ?? logger.default;
  return { quic, silentLogger: () => new LoggerClass('quic', logger.LogLevel.SILENT) };
}

/** `key` is what the user set that needs QUIC (`transport.protocol` or `quicBindPort`), for the message. */
export async function loadQuic(key: string): Promise<QuicRuntime> {
  loading ??= load();
  try {
    return await loading;
  } catch (err) {
    throw new BurrowError(
      'BURROW_CONFIG_INVALID',
      `${key}: QUIC needs the native module @matrixai/quic, which does not load on ${process.platform}-${process.arch} (${describeError(err)}); use tcp, websocket, wss or kcp`,
      { cause: err },
    );
  }
}
