import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { BurrowError, describeError } from '../util/errors.js';
import { reuseReads, writeHoldPredicate } from '../relay/reused-reads.js';
import { ViewTracker } from '../relay/view-tracker.js';
import { DrainQueue } from './drain-queue.js';
import { FrameReader, type FrameSink } from './frame-reader.js';
import { endWithGoAway, goAwayReason } from './go-away.js';
import { Flag, FrameType, GoAwayCode, frameHeader } from './header.js';
import { resolveYamuxOptions, type ResolvedYamuxOptions, type YamuxOptions } from './options.js';
import { Pinger } from './pinger.js';
import { YamuxStream, type StreamHost } from './stream.js';

export type { YamuxOptions } from './options.js';

/**
 * Unsent bytes the connection may hold before streams wait for 'drain'.
 * Never below the connection's own high-water mark, so that 'drain' is sure
 * to follow (Node emits it only after a write() that returned false).
 */
const CONN_HIGH_WATER = 1024 * 1024;
/**
 * Data never queues far past CONN_HIGH_WATER (every stream checks before each
 * frame), so more than this unsent means the peer makes us answer (pings,
 * RSTs) while it does not read: the session is dropped rather than buffer
 * without bound.
 */
const CONTROL_QUEUE_LIMIT = 16 * 1024 * 1024;
const MAX_STREAM_ID = 0xffffffff;

/** open: normal; closing: GoAway sent, waiting for streams to finish; closed: gone. */
type SessionState = 'open' | 'closing' | 'closed';

/**
 * A yamux session (protocol version 0, wire-compatible with the Go
 * implementation frp uses) over one connection.
 *
 * Events: 'stream' (stream: YamuxStream) for each inbound stream;
 * 'goaway' () when the peer stops accepting new streams;
 * 'close' (err?: Error) exactly once. No 'error' events: every failure ends
 * in 'close' with the reason.
 */
export class YamuxSession extends EventEmitter {
  private state: SessionState = 'open';
  private readonly opts: ResolvedYamuxOptions;
  private readonly streams = new Map<number, YamuxStream>();
  /** Inbound streams waiting for a 'stream' listener (also in `streams`). */
  private readonly backlog: YamuxStream[] = [];
  private readonly drainWaiters: DrainQueue;
  private readonly reader: FrameReader;
  private readonly host: StreamHost;
  private readonly congestionLimit: number;
  /** Where the payload being read goes, and which streams hold views of the input (src/relay/). */
  private readonly views = new ViewTracker();
  /** Stream whose FIN arrived with the current payload; applied after it. */
  private rxFinStream: YamuxStream | null = null;
  private nextStreamId: number;
  private remoteGoAway = false;
  private connEnded = false;
  private readonly pinger: Pinger;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Set by violation(): the GoAway code to send when the session fails. */
  private goAwayOnFail: number | null = null;

  constructor(
    private readonly conn: Duplex,
    options: YamuxOptions,
  ) {
    super();
    this.opts = resolveYamuxOptions(options);
    this.nextStreamId = this.opts.client ? 1 : 2;
    this.congestionLimit = Math.max(conn.writableHighWaterMark, CONN_HIGH_WATER);
    const connHolds = writeHoldPredicate(conn) ?? (() => true);
    const isCongested = (): boolean => this.conn.writableLength >= this.congestionLimit;
    this.drainWaiters = new DrainQueue(() => this.state === 'closed', isCongested);
    this.host = {
      maxStreamWindow: this.opts.maxStreamWindow,
      isCongested,
      waitForDrain: (s) => this.drainWaiters.add(s),
      sendData: (id, payload) => this.writeData(id, payload),
      sendControl: (type, flags, id, length) => this.writeControl(type, flags, id, length),
      markDirty: (s) => this.views.markDirty(s),
      forget: (s) => this.forget(s),
      connHoldsWrites: connHolds,
    };
    const sink: FrameSink = {
      onFrame: (type, flags, id, length) => this.handleFrame(type, flags, id, length),
      onPayload: (piece, more) => this.views.deliver(piece, more),
      onPayloadEnd: () => this.endPayload(),
    };
    this.reader = new FrameReader(sink);
    this.pinger = new Pinger((id) => this.writeControl(FrameType.Ping, Flag.SYN, 0, id));

    conn.on('data', this.onConnData);
    conn.on('drain', () => this.drainWaiters.serve());
    conn.on('end', this.onConnGone);
    conn.on('close', this.onConnGone);
    conn.on('error', this.onConnError);
    // Input chunks are reused once no stream's consumer kept a view of them.
    reuseReads(conn, () => (this.state === 'closed' ? 'kept' : this.views.hold()));
    this.on('newListener', (event: string | symbol) => {
      if (event === 'stream' && this.backlog.length > 0) process.nextTick(() => this.drainBacklog());
    });
    if (this.opts.keepaliveIntervalMs > 0) {
      this.pinger.startKeepalive(this.opts.keepaliveIntervalMs, this.opts.keepaliveTimeoutMs, (err) => this.destroy(err));
    }
  }

  /** Live streams (not yet closed in both directions nor reset). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** True once close() or destroy() was called or the session died. */
  get closed(): boolean {
    return this.state !== 'open';
  }

  /**
   * Opens an outbound stream: a WindowUpdate+SYN raising the window to the
   * maximum, as the Go implementation does. Throws BurrowError
   * (BURROW_CLOSED, BURROW_MUX_GO_AWAY, BURROW_MUX_STREAM_LIMIT).
   */
  open(): YamuxStream {
    if (this.state !== 'open') throw new BurrowError('BURROW_CLOSED', 'yamux: session is closed; no new streams');
    if (this.remoteGoAway) throw new BurrowError('BURROW_MUX_GO_AWAY', 'yamux: the peer sent GoAway; no new streams');
    if (this.streams.size >= this.opts.maxStreams) {
      throw new BurrowError('BURROW_MUX_STREAM_LIMIT', `yamux: already ${this.streams.size} streams open (limit ${this.opts.maxStreams})`);
    }
    const id = this.nextStreamId;
    if (id > MAX_STREAM_ID) throw new BurrowError('BURROW_MUX_STREAM_LIMIT', 'yamux: stream ids of this session are used up');
    this.nextStreamId = id + 2;
    const stream = new YamuxStream(this.host, id);
    this.streams.set(id, stream);
    stream.announce(Flag.SYN);
    const ms = this.opts.openTimeoutMs;
    if (ms > 0) {
      stream.armAckTimer(ms, () => this.destroy(new BurrowError('BURROW_TIMEOUT', `yamux: stream ${id} was not acknowledged within ${ms} ms`)));
    }
    return stream;
  }

  /** Round trip of one Ping; rejects with BURROW_TIMEOUT (the session stays up) or BURROW_CLOSED. */
  ping(timeoutMs: number = this.opts.keepaliveTimeoutMs): Promise<number> {
    if (this.state === 'closed') return Promise.reject(new BurrowError('BURROW_CLOSED', 'yamux: session is closed'));
    return this.pinger.ping(timeoutMs);
  }

  /**
   * Graceful: GoAway(normal), no new streams either way; the connection is
   * ended once the open streams finish, or everything is destroyed after
   * closeTimeoutMs.
   */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.writeControl(FrameType.GoAway, 0, 0, GoAwayCode.Normal);
    const ms = this.opts.closeTimeoutMs;
    this.closeTimer = setTimeout(() => {
      if (this.connEnded) this.finish(undefined, undefined, null);
      else this.destroy(new BurrowError('BURROW_TIMEOUT', `yamux: ${this.streams.size} streams still open ${ms} ms after close()`));
    }, ms);
    this.closeTimer.unref();
    this.endConnIfIdle();
  }

  /** Now: every stream is destroyed with `err`, the connection destroyed. Idempotent. */
  destroy(err?: Error): void {
    this.finish(err, err, null);
  }

  // ---- input ------------------------------------------------------------

  private readonly onConnData = (chunk: Buffer): void => {
    if (this.state === 'closed') return;
    this.views.beginChunk(chunk.length);
    // Corked for the whole chunk: the window updates, ACKs and ping replies
    // it triggers leave in one write.
    this.conn.cork();
    try {
      this.reader.write(chunk);
      this.views.endChunk();
    } catch (err) {
      this.fail(err);
    } finally {
      this.conn.uncork();
    }
  };

  private handleFrame(type: FrameType, flags: number, id: number, length: number): void {
    switch (type) {
      case FrameType.Data:
        this.handleData(flags, id, length);
        return;
      case FrameType.WindowUpdate:
        this.handleWindowUpdate(flags, id, length);
        return;
      case FrameType.Ping:
        this.handlePing(flags, length);
        return;
      case FrameType.GoAway:
        this.handleGoAway(length);
        return;
    }
  }

  private handleData(flags: number, id: number, length: number): void {
    if (length > this.opts.maxStreamWindow) {
      throw this.violation(
        'BURROW_MUX_WINDOW_EXCEEDED',
        `yamux: ${length}-byte data frame for stream ${id} is larger than any window (${this.opts.maxStreamWindow})`,
      );
    }
    const stream = (flags & Flag.SYN) !== 0 ? this.acceptInbound(id) : this.streams.get(id);
    this.views.receiver = null;
    this.rxFinStream = null;
    if (stream === undefined) return;
    if ((flags & Flag.RST) !== 0) {
      stream.onRemoteReset();
      return;
    }
    if ((flags & Flag.ACK) !== 0) stream.onAck();
    const fin = (flags & Flag.FIN) !== 0;
    if (length === 0) {
      if (fin) stream.onRemoteFin();
      return;
    }
    if (length > stream.receiveWindow) {
      throw this.violation(
        'BURROW_MUX_WINDOW_EXCEEDED',
        `yamux: stream ${id} got a ${length}-byte data frame with only ${stream.receiveWindow} bytes of window left`,
      );
    }
    if (stream.acceptsData) this.views.receiver = stream;
    if (fin) this.rxFinStream = stream;
  }

  private endPayload(): void {
    const finished = this.rxFinStream;
    this.views.receiver = null;
    this.rxFinStream = null;
    finished?.onRemoteFin();
  }

  private handleWindowUpdate(flags: number, id: number, delta: number): void {
    const stream = (flags & Flag.SYN) !== 0 ? this.acceptInbound(id) : this.streams.get(id);
    if (stream === undefined) return;
    if ((flags & Flag.RST) !== 0) {
      stream.onRemoteReset();
      return;
    }
    if ((flags & Flag.ACK) !== 0) stream.onAck();
    if ((flags & Flag.FIN) !== 0) stream.onRemoteFin();
    if (delta > 0) stream.addCredit(delta);
  }

  private handlePing(flags: number, id: number): void {
    if ((flags & Flag.SYN) !== 0) {
      this.writeControl(FrameType.Ping, Flag.ACK, 0, id);
      return;
    }
    if ((flags & Flag.ACK) !== 0) this.pinger.answered(id);
  }

  private handleGoAway(code: number): void {
    if (code !== GoAwayCode.Normal) {
      throw new BurrowError('BURROW_MUX_GO_AWAY', `yamux: peer ended the session with GoAway code ${code} (${goAwayReason(code)})`);
    }
    if (this.remoteGoAway) return;
    this.remoteGoAway = true;
    this.emit('goaway');
  }

  /** A SYN from the peer. Returns the new stream, or undefined when it was refused with RST. */
  private acceptInbound(id: number): YamuxStream | undefined {
    if (this.streams.has(id)) throw this.violation('BURROW_MUX_PROTOCOL', `yamux: SYN for stream ${id}, which is already open`);
    if (id === 0 || (id % 2 === 1) === this.opts.client) {
      throw this.violation('BURROW_MUX_PROTOCOL', `yamux: peer opened stream ${id}, an id reserved for this side`);
    }
    const listening = this.listenerCount('stream') > 0;
    if (this.state !== 'open' || this.streams.size >= this.opts.maxStreams || (!listening && this.backlog.length >= this.opts.acceptBacklog)) {
      this.writeControl(FrameType.WindowUpdate, Flag.RST, id, 0);
      return undefined;
    }
    const stream = new YamuxStream(this.host, id);
    this.streams.set(id, stream);
    if (listening && this.backlog.length === 0) this.deliver(stream);
    else this.backlog.push(stream);
    return stream;
  }

  private deliver(stream: YamuxStream): void {
    stream.announce(Flag.ACK);
    this.emit('stream', stream);
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0 && this.state !== 'closed' && this.listenerCount('stream') > 0) {
      const stream = this.backlog.shift()!;
      if (!stream.destroyed) this.deliver(stream);
    }
  }

  // ---- output -----------------------------------------------------------

  private writeData(id: number, payload: Buffer): void {
    if (this.state === 'closed' || this.connEnded) return;
    const conn = this.conn;
    // Header and payload leave in one writev, without copying the payload.
    conn.cork();
    conn.write(frameHeader(FrameType.Data, 0, id, payload.length));
    conn.write(payload);
    conn.uncork();
  }

  private writeControl(type: FrameType, flags: number, id: number, length: number): void {
    if (this.state === 'closed' || this.connEnded) return;
    this.conn.write(frameHeader(type, flags, id, length));
    if (this.conn.writableLength > CONTROL_QUEUE_LIMIT) {
      this.destroy(new BurrowError('BURROW_MUX_PROTOCOL', `yamux: peer is not reading; ${this.conn.writableLength} bytes queued for it`));
    }
  }

  // ---- lifecycle --------------------------------------------------------

  private forget(stream: YamuxStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.drainWaiters.delete(stream);
    this.endConnIfIdle();
  }

  private endConnIfIdle(): void {
    if (this.state !== 'closing' || this.streams.size > 0 || this.connEnded) return;
    this.connEnded = true;
    this.conn.end();
  }

  private readonly onConnGone = (): void => {
    if (this.state === 'closed') return;
    const streamErr = this.streams.size > 0 ? new BurrowError('BURROW_CLOSED', 'yamux: connection closed while streams were open') : undefined;
    this.finish(undefined, streamErr, null);
  };

  private readonly onConnError = (err: Error): void => {
    this.finish(err, err, null);
  };

  /**
   * A rule broken by a peer that does speak yamux: like the Go
   * implementation we answer GoAway(protocol error) before hanging up. Bytes
   * that are not yamux at all (bad version or type) get no answer.
   */
  private violation(code: 'BURROW_MUX_PROTOCOL' | 'BURROW_MUX_WINDOW_EXCEEDED', message: string): BurrowError {
    this.goAwayOnFail = GoAwayCode.ProtocolError;
    return new BurrowError(code, message);
  }

  /** Something thrown while handling input: a violation, garbage, or a throw from a listener we called. */
  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new BurrowError('BURROW_MUX_PROTOCOL', describeError(err));
    let goAway = this.goAwayOnFail;
    if (goAway === null && !(error instanceof BurrowError)) goAway = GoAwayCode.InternalError;
    this.finish(error, error, goAway);
  }

  private finish(closeErr: Error | undefined, streamErr: Error | undefined, goAway: number | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reader.stopped = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.pinger.stop();
    this.views.clear();

    const live = [...this.streams.values()];
    this.streams.clear();
    this.backlog.length = 0;
    this.drainWaiters.clear();
    this.rxFinStream = null;
    for (const s of live) s.terminate(streamErr);

    const conn = this.conn;
    if (goAway !== null && !this.connEnded && conn.writable) {
      this.connEnded = true;
      endWithGoAway(conn, goAway);
    } else {
      conn.destroy();
    }
    process.nextTick(() => this.emit('close', closeErr));
  }
}
