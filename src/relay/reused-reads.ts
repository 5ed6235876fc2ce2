import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../util/logger.js';

/**
 * Relayed sockets read into buffers we reuse instead of one fresh buffer per read.
 *
 * Why: Node gives every socket read a new ArrayBuffer (64 KiB during a bulk
 * transfer). A relay drops each one as soon as it is written on, but V8 counts
 * them as external memory, and with the small heap a relay has it starts full
 * mark-compacts often enough to cost a large share of the relay's CPU (see
 * README.md). Reading into a buffer that the destination has already let go
 * of makes that garbage disappear.
 *
 * How: Node reads into a caller's buffer only for sockets created with the
 * `onread` option, and accepted sockets cannot be. The same machinery is
 * reached on any socket through the handle's `useUserBuffer()` and three
 * symbols net.Socket keeps on each instance (found by their descriptions).
 * Where any of them is missing (another Node version), sockets simply keep
 * the default reads; `reusedReadsAvailable` tells tests which one they got.
 * BURROW_REUSED_READS=off (or 0, false) takes that same plain path on
 * purpose: for bisecting, or for a Node whose internals moved in a way the
 * probe does not notice.
 *
 * Ownership: a chunk handed on stays valid only while nobody keeps it. After
 * each chunk the reader asks what became of it (ReadHold): nothing refers to
 * it, it waits in a write queue (the buffer is lent, and comes back once the
 * queue has drained), or it may be kept indefinitely (the buffer is given up).
 * Quiet sockets share one small buffer and their reads are copied out (small
 * copies come from Node's pool), so an idle connection owns no buffer; a
 * socket whose read fills the shared buffer is in a bulk transfer and gets a
 * big buffer of its own until short reads show the burst has ended.
 */

/** True while the destination still references bytes written to it (its writes complete in order). */
export type HoldsWrites = () => boolean;

/**
 * What became of the chunk just delivered:
 * - free: nothing refers to it, nor to any earlier chunk;
 * - queued: it waits in write queues; once they report free, every buffer lent to them is free;
 * - kept: it may be referenced indefinitely; its buffer is never reused.
 */
export type ReadHold = 'free' | 'queued' | 'kept';

/** A read that fills this marks a bulk transfer: the socket gets a buffer of its own. */
const SHARED_SIZE = 16 * 1024;
/** Own buffers of TCP sockets: the size libuv asks for, so a bulk read is as large as by default. */
const OWN_SIZE = 64 * 1024;
/** Own buffers of TLS sockets: one record, the most a TLS read delivers. */
const OWN_SIZE_TLS = 16 * 1024;
/** Reads shorter than this, twice in a row, end a burst (one short TLS record inside a burst does not). */
const SHORT_READ = 4 * 1024;
/**
 * Own buffers in use at once, process-wide (4 MiB). A socket that went quiet
 * right after a burst keeps its buffer until its next reads, so the total is
 * capped; past it, sockets stay in shared mode (copying, as costly as Node's
 * own reads) rather than grow memory.
 */
const OWN_LIMIT = 64;
/** Free own buffers kept (per size) for the next reads; more are left to the garbage collector. */
const POOL_LIMIT = 32;

interface ReadInternals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}

function findInternals(): ReadInternals | null {
  const probe = new Socket();
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  probe.destroy();
  const kBuffer = byName.get('kBuffer');
  const kBufferCb = byName.get('kBufferCb');
  const kBufferGen = byName.get('kBufferGen');
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return null;
  return { kBuffer, kBufferCb, kBufferGen };
}

/** The environment switch, read once at load: a value the process was started with. */
const switchedOff = /^(off|0|false)$/i.test((process.env.BURROW_REUSED_READS ?? '').trim());
const found = findInternals();
/** Whether this Node offers what reused reads need (the relay works either way). */
export const reusedReadsAvailable = found !== null;
/** What the readers use: null is the plain path, whether switched off or not offered. */
const internals = switchedOff ? null : found;

/** Whether relayed sockets read into reused buffers in this process (available and not switched off). */
export function reusedReadsEnabled(): boolean {
  return internals !== null;
}

let settingLogged = false;

/** Logs once per process, at debug level, why sockets read the plain way (nothing when they do not). */
export function logReusedReadsSetting(log: Logger): void {
  if (settingLogged || internals !== null) return;
  settingLogged = true;
  if (switchedOff) log.debug('reused reads are off (BURROW_REUSED_READS): relayed sockets read the way Node does by default');
  else log.debug(`reused reads are not available on Node ${process.version}: relayed sockets read the way Node does by default`);
}

const shared = Buffer.allocUnsafeSlow(SHARED_SIZE);
/** Free own buffers by size. */
const pools = new Map<number, Buffer[]>([
  [OWN_SIZE, []],
  [OWN_SIZE_TLS, []],
]);
let ownInUse = 0;

/** Own buffers held by sockets right now (for tests: back to 0 once they close). */
export function ownReadBuffersInUse(): number {
  return ownInUse;
}

/** What net.Socket keeps under the internal symbols, and the handle method. */
type SocketInternals = Record<symbol, unknown> & {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
};

/**
 * How to tell whether `dest` still holds what was written to it, or null when
 * we cannot know (then reads toward it are never reused).
 * - A TCP socket's write either completes at once or keeps the chunk queued.
 * - A TLS socket encrypts (copies) what reaches its handle at once; only
 *   writes queued behind the one in flight, or sent before it connected, are
 *   still ours.
 * - Other streams can say so with a `holdsWrites()` method (yamux streams do).
 */
export function writeHoldPredicate(dest: Duplex): HoldsWrites | null {
  if (dest instanceof TLSSocket) return () => !dest.closed && (dest.connecting || queuedBehindWrite(dest) > 0);
  if (dest instanceof Socket) return () => dest.writableLength > 0 && !dest.closed;
  const own = (dest as Partial<HoldReporter>).holdsWrites;
  if (typeof own === 'function') return () => own.call(dest);
  return null;
}

/** A stream that can say whether it still holds what was written to it. */
export interface HoldReporter {
  holdsWrites(): boolean;
}

/**
 * A stream that hands views of someone else's buffer to its consumer (a
 * yamux stream, whose chunks are views of the connection's reads): told how
 * to ask whether its consumer kept them, it lets that buffer be reused.
 */
export interface ViewSource {
  setConsumerHolds(destHolds: HoldsWrites): void;
}

/** Bytes waiting behind the write in flight (all of writableLength where Node's state is not as expected). */
function queuedBehindWrite(w: Duplex): number {
  const state = (w as unknown as { _writableState?: { writing?: unknown; writelen?: unknown } })._writableState;
  if (state === undefined || typeof state.writelen !== 'number') return w.writableLength;
  return w.writableLength - (state.writing === true ? state.writelen : 0);
}

/**
 * The relay's side: `from` is about to be read by a relay writing to `to`.
 * A socket switches to reused reads; a stream made of views of someone else's
 * reads (a yamux stream) learns how to ask whether `to` kept them.
 */
export function reuseReadsToward(from: Duplex, to: Duplex): void {
  const destHolds = writeHoldPredicate(to);
  if (destHolds === null || !soleDataConsumer(from)) return;
  const viewSource = (from as Partial<ViewSource>).setConsumerHolds;
  if (typeof viewSource === 'function') viewSource.call(from, destHolds);
  else reuseReads(from, () => (destHolds() ? 'queued' : 'free'));
}

/**
 * Switches `socket` (TCP or TLS) to reused reads; chunks keep arriving as
 * 'data' events, and pause()/resume() keep working. `hold` answers, after
 * each chunk was handled, what became of it. Does nothing when the socket
 * cannot be switched, or when anything but its one consumer listens to its
 * data (an observer might keep the chunks). Data already buffered in the
 * stream is delivered first; the switch waits for it.
 */
export function reuseReads(socket: Duplex, hold: () => ReadHold): void {
  if (internals === null || !(socket instanceof Socket) || !soleDataConsumer(socket)) return;
  if (socket.readableLength === 0) {
    switchNow(socket, hold, internals);
    return;
  }
  const whenDrained = (): void => {
    if (socket.readableLength > 0) return;
    socket.off('data', whenDrained);
    if (soleDataConsumer(socket)) switchNow(socket, hold, internals);
  };
  socket.on('data', whenDrained);
}

/** One 'data' listener and no 'readable' one (a reader in paused mode would never see the chunks). */
function soleDataConsumer(socket: Duplex): boolean {
  return socket.listenerCount('data') === 1 && socket.listenerCount('readable') === 0;
}

/** Whether `socket` reads into reused buffers (for tests). */
export function readsIntoReusedBuffers(socket: Socket): boolean {
  return internals !== null && Boolean((socket as unknown as SocketInternals)[internals.kBuffer]);
}

function switchNow(socket: Socket, hold: () => ReadHold, k: ReadInternals): void {
  const raw = socket as unknown as SocketInternals;
  const handle = raw._handle;
  if (socket.destroyed || socket.connecting || raw[k.kBuffer] || typeof handle?.useUserBuffer !== 'function') return;
  const reader = new ReusedReader(socket, hold);
  raw[k.kBuffer] = shared;
  raw[k.kBufferCb] = (n: number, buf: Buffer) => reader.onRead(n, buf);
  raw[k.kBufferGen] = () => reader.nextBuffer();
  handle.useUserBuffer(shared);
  socket.on('close', () => reader.release());
}

/** shared: reads land in the process-wide small buffer and are copied out; own: in this socket's big buffer. */
type ReadMode = 'shared' | 'own';

class ReusedReader {
  private mode: ReadMode = 'shared';
  private own: Buffer | null = null;
  /**
   * Own buffers the destination kept. Once it holds nothing, it has let go of
   * all of them (its writes complete in order) and they go back to the pool:
   * a destination that completes writes a moment later (TLS always does)
   * then costs no new buffers either.
   */
  private lent: Buffer[] = [];
  private lastRead = 0;
  private shortReads = 0;
  private readonly ownSize: number;

  constructor(
    private readonly socket: Socket,
    private readonly hold: () => ReadHold,
  ) {
    this.ownSize = socket instanceof TLSSocket ? OWN_SIZE_TLS : OWN_SIZE;
  }

  /** Node's read callback: returning false stops reading (the consumer paused). */
  onRead(n: number, buf: Buffer): boolean {
    this.lastRead = n;
    const socket = this.socket;
    const view = buf.subarray(0, n);
    if (socket.readableFlowing === false || socket.readableLength > 0) {
      // Paused: a TLS socket still hands over records it had already decrypted. They wait
      // in the stream, in order, as with Node's own reads.
      return socket.push(Buffer.from(view)) && socket.readableFlowing !== false;
    }
    // A short read would pin a whole own buffer while queued: copied, it costs what Node's read costs.
    const copy = this.mode === 'shared' || n < this.ownSize / 4;
    socket.emit('data', copy ? Buffer.from(view) : view);
    // The consumer may have paused while handling the chunk (TypeScript cannot see that).
    return (socket.readableFlowing as boolean | null) !== false;
  }

  /** Called by Node right after each read: the buffer the next read goes into. */
  nextBuffer(): Buffer {
    if (this.mode === 'shared') {
      if (this.lastRead < SHARED_SIZE || ownInUse >= OWN_LIMIT || this.socket.destroyed) return shared;
      this.mode = 'own';
      this.shortReads = 0;
      ownInUse += 1;
      this.own = this.takeOwn();
      return this.own;
    }
    const hold = this.hold();
    if (hold === 'free') this.giveBack(this.lent);
    else if (hold === 'queued') this.lend(this.own!);
    this.shortReads = this.lastRead < SHORT_READ ? this.shortReads + 1 : 0;
    if (this.shortReads >= 2) {
      // The burst is over: the big buffer goes back unless someone has it.
      if (hold === 'free') this.giveBack([this.own!]);
      this.lent = [];
      this.own = null;
      this.mode = 'shared';
      ownInUse -= 1;
      return shared;
    }
    if (hold !== 'free') this.own = this.takeOwn();
    return this.own!;
  }

  /** The socket closed; the destination may still hold its buffers, so none is pooled. */
  release(): void {
    this.lent = [];
    if (this.mode === 'own') ownInUse -= 1;
    this.own = null;
    this.mode = 'shared';
  }

  private takeOwn(): Buffer {
    return pools.get(this.ownSize)!.pop() ?? Buffer.allocUnsafeSlow(this.ownSize);
  }

  private lend(buf: Buffer): void {
    // A destination that never drains must not make this list grow: the oldest are left to the collector.
    if (this.lent.length >= POOL_LIMIT) this.lent.shift();
    this.lent.push(buf);
  }

  private giveBack(buffers: Buffer[]): void {
    const pool = pools.get(this.ownSize)!;
    for (const b of buffers) if (pool.length < POOL_LIMIT) pool.push(b);
    if (buffers === this.lent) this.lent = [];
  }
}
