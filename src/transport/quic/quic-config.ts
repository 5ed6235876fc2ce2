/**
 * The QUIC settings both sides share, as frp sets quic-go: ALPN "frp",
 * keepalive, idle timeout and incoming stream limit from `transport.quic.*`.
 * quic-go's zero values mean its defaults (idle 30 s, 100 streams, no
 * keepalive); quiche's zero idle timeout would mean "never", so they are
 * mapped here.
 */
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { QUICClientConfigInput, QUICServerCrypto, QUICClientCrypto } from '@matrixai/quic';

/** frp's quic-go settings (`transport.quic.*`), in milliseconds and counts. */
export interface QuicOptions {
  keepalivePeriodMs: number;
  maxIdleTimeoutMs: number;
  maxIncomingStreams: number;
}

export const FRP_QUIC: QuicOptions = Object.freeze({ keepalivePeriodMs: 10_000, maxIdleTimeoutMs: 30_000, maxIncomingStreams: 100_000 });

/** quic-go's own defaults, which its zero values select. */
const QUIC_GO_IDLE_MS = 30_000;
const QUIC_GO_STREAMS = 100;
/** Receive windows: quic-go grows a stream's to 6 MiB and a connection's to 15 MiB. */
const STREAM_WINDOW = 6 * 1024 * 1024;
const CONNECTION_WINDOW = 15 * 1024 * 1024;

export function quicConfig(o: QuicOptions = FRP_QUIC): QUICClientConfigInput {
  const idle = o.maxIdleTimeoutMs > 0 ? o.maxIdleTimeoutMs : QUIC_GO_IDLE_MS;
  return {
    applicationProtos: ['frp'],
    maxIdleTimeout: idle,
    // quic-go sends no keepalive when the period is 0; one shorter than the idle timeout keeps a quiet link up.
    ...(o.keepalivePeriodMs > 0 ? { keepAliveIntervalTime: Math.min(o.keepalivePeriodMs, idle / 2) } : {}),
    initialMaxStreamsBidi: o.maxIncomingStreams > 0 ? o.maxIncomingStreams : QUIC_GO_STREAMS,
    // frp opens no unidirectional streams.
    initialMaxStreamsUni: 0,
    initialMaxStreamDataBidiLocal: 1024 * 1024,
    initialMaxStreamDataBidiRemote: 1024 * 1024,
    initialMaxStreamDataUni: 0,
    initialMaxData: 10 * 1024 * 1024,
    maxStreamWindow: STREAM_WINDOW,
    maxConnectionWindow: CONNECTION_WINDOW,
    readableChunkSize: 16 * 1024,
  };
}

export function clientCrypto(): QUICClientCrypto {
  return {
    ops: {
      randomBytes: async (data: ArrayBuffer) => {
        randomFillSync(new Uint8Array(data));
      },
    },
  };
}

/** Retry tokens are signed with a key of this listener's own (HMAC-SHA256). */
export function serverCrypto(): QUICServerCrypto {
  const key = randomBytes(32);
  const sign = (k: ArrayBuffer, data: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(k)).update(Buffer.from(data)).digest();
  return {
    key: copyOut(key),
    ops: {
      sign: async (k, data) => copyOut(sign(k, data)),
      verify: async (k, data, sig) => {
        const mac = sign(k, data);
        const given = Buffer.from(sig);
        return given.length === mac.length && timingSafeEqual(given, mac);
      },
    },
  };
}

function copyOut(bytes: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}
