/**
 * The server side of QUIC (frps `quicBindPort`): one UDP socket, ALPN "frp",
 * the bind port's certificate. Each QUIC connection, once its handshake is
 * done, is handed out as a session whose streams are the client's logical
 * connections. With `trustedCaFile` a client certificate is required and
 * checked (quic-verify.ts) during the handshake.
 */
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import { BurrowError, describeError } from '../../util/errors.js';
import type { AcceptedSession, ListenOptions, TransportListener } from '../index.js';
import { parseCaBundle } from '../peer-verify.js';
import { checkPort, checkWait, DEFAULT_SNIFF_TIMEOUT_MS, formatAddress } from '../tcp.js';
import { quicConfig, serverCrypto } from './quic-config.js';
import { loadQuic } from './quic-native.js';
import { QuicSession } from './quic-session.js';
import { chainRejection } from './quic-verify.js';

/** Streams a client may open before its connection is handed out (frpc opens one: its control). */
const MAX_EARLY_STREAMS = 8;

export async function listenQuic(opts: ListenOptions, onConnection: (conn: AcceptedSession) => void): Promise<TransportListener> {
  const { quic, silentLogger } = await loadQuic('quicBindPort');
  checkPort(opts.port, true);
  const handshakeMs = checkWait(opts.sniffTimeoutMs, DEFAULT_SNIFF_TIMEOUT_MS, 'sniff timeout');
  const cas = opts.tls.ca !== undefined ? parseCaBundle(opts.tls.ca) : undefined;
  const report = (err: unknown, remote: string): void => {
    try {
      opts.onError?.(err instanceof Error ? err : new BurrowError('BURROW_TLS', describeError(err)), remote);
    } catch {
      // A logging hook that throws must not take the listener down with it.
    }
  };
  const server = new quic.QUICServer({
    crypto: serverCrypto(),
    config: {
      ...quicConfig(opts.quic),
      key: opts.tls.key,
      cert: opts.tls.cert,
      ...(cas
        ? {
            verifyPeer: true,
            ca: opts.tls.ca,
            verifyCallback: async (chain: Uint8Array[]) => {
              const reason = chainRejection(chain, { cas, role: 'client' });
              if (reason === undefined) return undefined;
              report(new BurrowError('BURROW_TLS', `client certificate refused: ${reason}`), 'a QUIC client');
              return quic.native.CryptoError.BadCertificate;
            },
          }
        : { verifyPeer: false }),
    },
    // The handshake must finish within the same limit as a TCP client's first byte and TLS.
    minIdleTimeout: handshakeMs,
    logger: silentLogger(),
  });

  const sessions = new Set<QuicSession>();
  // The library announces a stream as soon as the handshake is done, which can be within the
  // datagram that finishes it, before it hands out the connection itself: such streams (a
  // client's Login) wait here for their connection, instead of being announced to nobody.
  const sessionOf = new WeakMap<QUICConnection, QuicSession>();
  const early = new WeakMap<QUICConnection, QUICStream[]>();
  server.addEventListener(quic.events.EventQUICConnectionStream.name, (evt) => {
    const stream = (evt as InstanceType<typeof quic.events.EventQUICConnectionStream>).detail;
    // The stream's connection is a protected field of the library's stream; it is there at run time.
    const connection = (stream as unknown as { connection?: QUICConnection }).connection;
    if (!connection) return void stream.cancel(new BurrowError('BURROW_CLOSED', 'QUIC stream without a connection'));
    const session = sessionOf.get(connection);
    if (session) return session.accept(stream);
    const waiting = early.get(connection) ?? [];
    if (waiting.length >= MAX_EARLY_STREAMS)
      return void stream.cancel(new BurrowError('BURROW_MUX_STREAM_LIMIT', 'QUIC: too many streams before the handshake ended'));
    waiting.push(stream);
    early.set(connection, waiting);
  });
  server.addEventListener(quic.events.EventQUICServerConnection.name, (evt) => {
    const connection = (evt as InstanceType<typeof quic.events.EventQUICServerConnection>).detail;
    const session = new QuicSession(quic, connection, (force) => connection.stop({ isApp: true, errorCode: 0, force }).catch(() => {}), true);
    sessionOf.set(connection, session);
    const remote = formatAddress(connection.remoteHost, connection.remotePort);
    const place = opts.admit?.(connection.remoteHost, () => session.destroy());
    if (typeof place === 'string') {
      session.destroy();
      return;
    }
    sessions.add(session);
    session.once('close', () => {
      sessions.delete(session);
      place?.release();
    });
    try {
      onConnection({ session, remoteAddress: connection.remoteHost, remotePort: connection.remotePort, tls: true, ...(place ? { admission: place } : {}) });
    } catch (err) {
      session.destroy();
      report(err, remote);
      return;
    }
    for (const stream of early.get(connection) ?? []) session.accept(stream);
    early.delete(connection);
  });
  try {
    await server.start({ host: opts.host, port: opts.port });
  } catch (err) {
    throw new BurrowError('BURROW_LISTEN_FAILED', `cannot listen on UDP ${formatAddress(opts.host, opts.port)} for QUIC: ${describeError(err)}`, {
      cause: err,
    });
  }
  return {
    port: server.port,
    address: server.host,
    get connectionCount() {
      return sessions.size;
    },
    // The connections share the UDP socket, so closing it ends the handed-out ones too.
    close: async () => {
      for (const s of [...sessions]) s.destroy();
      await server.stop({ isApp: true, errorCode: 0, force: true }).catch(() => {});
    },
  };
}
