/**
 * The server side of the `kcp` transport (frps `kcpBindPort`): each KCP
 * session goes through frp's first-byte rule as a TCP connection does
 * (0x17 marker or 0x16 TLS record: TLS; anything else: plain, refused when
 * TLS is forced), then is handed out. There is no websocket over KCP (frps
 * has none either). Admission (the pre-login gate) applies per session.
 */
import type { Duplex } from 'node:stream';
import { BurrowError, describeError } from '../../util/errors.js';
import type { AcceptedConnection, ListenOptions, TransportListener } from '../index.js';
import { readFirstByte, routeFirstByte } from '../sniff.js';
import { checkPort, checkWait, DEFAULT_SNIFF_TIMEOUT_MS, formatAddress } from '../tcp.js';
import { createTlsAcceptor } from '../tls.js';
import { listenKcp } from './kcp-listener.js';

export async function listenKcpTransport(opts: ListenOptions, onConnection: (conn: AcceptedConnection) => void): Promise<TransportListener> {
  checkPort(opts.port, true);
  const timeoutMs = checkWait(opts.sniffTimeoutMs, DEFAULT_SNIFF_TIMEOUT_MS, 'sniff timeout');
  const force = opts.tls.force === true || opts.tls.ca !== undefined;
  const tlsAcceptor = createTlsAcceptor(opts.tls, timeoutMs);
  const report = (err: unknown, remote: string): void => {
    try {
      opts.onError?.(err instanceof Error ? err : new BurrowError('BURROW_CLOSED', describeError(err)), remote);
    } catch {
      // A logging hook that throws must not take the listener down with it.
    }
  };

  /** What the session speaks, unwrapped down to frp's bytes; the sniff timeout bounds each step. */
  const unwrap = async (session: Duplex, remote: string): Promise<{ stream: Duplex; tls: boolean }> => {
    const first = await readFirstByte(session, timeoutMs, remote);
    const route = routeFirstByte(first);
    if (route !== 'tls-marked') session.unshift(Buffer.from([first]));
    if (route === 'tls' || route === 'tls-marked') return { stream: await tlsAcceptor.upgrade(session, remote), tls: true };
    if (force) throw new BurrowError('BURROW_TLS', `plain connection from ${remote} (KCP) refused: the server requires TLS`);
    return { stream: session, tls: false };
  };

  const pending = new Set<Duplex>();
  const listener = await listenKcp({ host: opts.host, port: opts.port }, ({ session, remoteAddress, remotePort }) => {
    const remote = formatAddress(remoteAddress, remotePort);
    session.on('error', () => {});
    const place = opts.admit?.(remoteAddress, () => session.destroy());
    if (typeof place === 'string') {
      session.destroy();
      return;
    }
    if (place) session.once('close', () => place.release());
    pending.add(session);
    void unwrap(session, remote).then(
      ({ stream, tls }) => {
        pending.delete(session);
        // Under TLS, the session's end is the TLS socket's end.
        if (stream !== session) session.once('close', () => stream.destroy());
        try {
          onConnection({ stream, remoteAddress, remotePort, tls, ...(place ? { admission: place } : {}) });
        } catch (err) {
          stream.destroy();
          report(err, remote);
        }
      },
      (err: unknown) => {
        pending.delete(session);
        session.destroy();
        report(err, remote);
      },
    );
  });

  return {
    port: listener.port,
    address: listener.address,
    get connectionCount() {
      return listener.sessionCount;
    },
    // The sessions share the UDP socket, so closing it ends the handed-out ones too.
    close: () => {
      for (const s of pending) s.destroy();
      pending.clear();
      return listener.close();
    },
  };
}
