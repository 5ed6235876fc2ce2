/**
 * One QUIC connection as burrow's StreamSession: each logical connection
 * (control, work, visitor) is one bidirectional QUIC stream, as frp does (no
 * yamux on top). The client opens streams; the server is handed them through
 * 'stream'. A stream is a Node Duplex: `end()` sends FIN (half-close),
 * `destroy()` resets it, back-pressure follows QUIC's flow control.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import { BurrowError, describeError } from '../../util/errors.js';
import type { StreamSession } from '../index.js';
import type { QuicModule } from './quic-native.js';

enum QuicSessionState {
  Open = 'open',
  Closed = 'closed',
}

/** Node reads a stream's data in chunks of this size at most (a buffer per open stream). */
export const QUIC_READ_CHUNK = 16 * 1024;

function streamToDuplex(stream: QUICStream): Duplex {
  // `fromWeb` maps end() to the writable's close (FIN) and destroy() to cancel and abort (RESET_STREAM, STOP_SENDING).
  // Its default is no half-open: the peer's FIN would end our side too, before the answer went out.
  const duplex = Duplex.fromWeb({ readable: stream.readable, writable: stream.writable }, { allowHalfOpen: true });
  duplex.on('error', () => {});
  return duplex;
}

export class QuicSession extends EventEmitter implements StreamSession {
  private state = QuicSessionState.Open;

  /**
   * `stop` closes the connection (and, on the client, its UDP socket); it
   * must not throw (the library's errors are swallowed there).
   */
  /**
   * `stop` closes the connection (and, on the client, its UDP socket); it
   * must not throw (the library's errors are swallowed there). With
   * `streamsFromListener`, the peer's streams come through accept() instead
   * of the connection's events (see quic-listener.ts for why).
   */
  constructor(
    quic: QuicModule,
    private readonly connection: QUICConnection,
    private readonly stop: (force: boolean) => Promise<void>,
    streamsFromListener = false,
  ) {
    super();
    if (!streamsFromListener) {
      connection.addEventListener(quic.events.EventQUICConnectionStream.name, (evt) =>
        this.accept((evt as InstanceType<QuicModule['events']['EventQUICConnectionStream']>).detail),
      );
    }
    connection.addEventListener(
      quic.events.EventQUICConnectionStopped.name,
      () =>
        this.finish(
          connection.getConnectionError() ? new BurrowError('BURROW_CLOSED', `QUIC connection closed: ${describeConnectionError(connection)}`) : undefined,
        ),
      { once: true },
    );
  }

  /** A stream the peer opened. A side that accepts none (the client: frps never opens one) refuses it instead of holding it. */
  accept(stream: QUICStream): void {
    if (this.state !== QuicSessionState.Open || this.listenerCount('stream') === 0) {
      stream.cancel(new BurrowError('BURROW_CLOSED', 'QUIC: no stream expected'));
      return;
    }
    this.emit('stream', streamToDuplex(stream));
  }

  get remoteAddress(): string {
    return this.connection.remoteHost;
  }

  get remotePort(): number {
    return this.connection.remotePort;
  }

  /** The peer's certificate chain (DER), leaf first. */
  get peerCertificates(): Uint8Array[] {
    return this.connection.getRemoteCertsChain();
  }

  /** A new bidirectional stream; throws once the session is closed or the peer's stream limit is reached. */
  open(): Duplex {
    if (this.state !== QuicSessionState.Open) throw new BurrowError('BURROW_CLOSED', 'QUIC connection is closed; no new streams');
    let stream: QUICStream;
    try {
      stream = this.connection.newStream('bidi');
    } catch (err) {
      throw new BurrowError('BURROW_CLOSED', `QUIC: cannot open a stream: ${describeError(err)}`, { cause: err });
    }
    return streamToDuplex(stream);
  }

  /** Now: the connection closes with every stream. Idempotent. */
  destroy(err?: Error): void {
    if (this.state === QuicSessionState.Closed) return;
    void this.stop(true);
    this.finish(err);
  }

  private finish(err?: Error): void {
    if (this.state === QuicSessionState.Closed) return;
    this.state = QuicSessionState.Closed;
    this.connection.destroyStreams(err ?? new BurrowError('BURROW_CLOSED', 'QUIC connection closed'));
    this.emit('close', err);
  }
}

/** The peer's or our own close reason, in words. */
export function describeConnectionError(connection: QUICConnection): string {
  const e = connection.getConnectionError();
  if (!e) return 'closed';
  const reason = Buffer.from(e.reason ?? []).toString('utf8');
  return `${e.isApp ? 'application' : 'transport'} code ${e.errorCode}${reason ? ` (${reason})` : ''}`;
}
