import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MessageDecoder } from '../../src/protocol/codec.js';
import { decodeBody } from '../../src/protocol/message-body.js';
import { CfbDecryptor } from '../../src/protocol/crypto.js';
import { messageTypeFromByte, type Message } from '../../src/protocol/messages.js';
import { SnappyFrameDecoder } from '../../src/protocol/snappy-frame.js';
import { FrameType, HEADER_SIZE, decodeHeader } from '../../src/mux/header.js';
import { YamuxSession } from '../../src/mux/session.js';
import { withTimeout } from '../../src/util/timeout.js';

/**
 * Tools to play one side of a session recorded between a stock frpc and frps
 * (test/fixtures/frp-0.70.0) against burrow's real client or server: the
 * recording split into logical connections, and readers that take frames,
 * control messages and payload bytes off a live stream whatever its chunking.
 */

export type Direction = 'c2s' | 's2c';

const IV_LENGTH = 16;

export interface Recording {
  scenario: { name: string; tls: boolean; tcpMux: boolean; useEncryption: boolean; useCompression: boolean; token: string; user: string };
  client_config: string;
  connections: { index: number; chunks: { dir: Direction; hex: string }[] }[];
}

export function loadRecording(file: string): Recording {
  const path = fileURLToPath(new URL(`../fixtures/frp-0.70.0/${file}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Recording;
}

/** The `remotePort` the recorded frpc asked for (from its TOML). */
export function recordedRemotePort(rec: Recording): number {
  const m = /^remotePort\s*=\s*(\d+)\s*$/m.exec(rec.client_config);
  if (!m) throw new Error('the recording has no remotePort');
  return Number(m[1]);
}

/** Both directions of one logical connection: a TCP connection, or a yamux stream. */
export interface LogicalConn {
  /** the connection index, or the yamux stream id */
  id: number;
  c2s: Buffer;
  s2c: Buffer;
}

/**
 * The recording as logical connections in the order frpc opened them: the
 * control connection first, then the work connections. With tcpMux the one
 * TCP connection is unpacked into the Data payloads of each stream.
 */
export function logicalConnections(rec: Recording): LogicalConn[] {
  const joined = rec.connections.map((c) => ({
    id: c.index,
    c2s: joinChunks(c.chunks, 'c2s'),
    s2c: joinChunks(c.chunks, 's2c'),
  }));
  if (!rec.scenario.tcpMux) return joined;
  if (joined.length !== 1) throw new Error(`a yamux recording has one TCP connection, found ${joined.length}`);
  const c2s = yamuxPayloads(joined[0].c2s);
  const s2c = yamuxPayloads(joined[0].s2c);
  const ids = [...new Set([...c2s.keys(), ...s2c.keys()])].sort((a, b) => a - b);
  return ids.map((id) => ({ id, c2s: c2s.get(id) ?? Buffer.alloc(0), s2c: s2c.get(id) ?? Buffer.alloc(0) }));
}

function joinChunks(chunks: { dir: Direction; hex: string }[], dir: Direction): Buffer {
  return Buffer.concat(chunks.filter((c) => c.dir === dir).map((c) => Buffer.from(c.hex, 'hex')));
}

/** Data payloads per stream id of one direction of a yamux connection (stream 0 is the session). */
function yamuxPayloads(wire: Buffer): Map<number, Buffer> {
  const parts = new Map<number, Buffer[]>();
  let pos = 0;
  while (pos < wire.length) {
    const h = decodeHeader(wire, pos);
    pos += HEADER_SIZE;
    if (h.streamId === 0) continue;
    const list = parts.get(h.streamId) ?? [];
    parts.set(h.streamId, list);
    if (h.type !== FrameType.Data) continue;
    if (pos + h.length > wire.length) throw new Error(`truncated yamux data frame on stream ${h.streamId}`);
    list.push(wire.subarray(pos, pos + h.length));
    pos += h.length;
  }
  return new Map([...parts].map(([id, list]) => [id, Buffer.concat(list)]));
}

/** One plaintext v1 frame at the start of some bytes, with its JSON text and what follows it. */
export interface FirstFrame {
  message: Message;
  /** the frame as it was on the wire (header and body) */
  frame: Buffer;
  /** the JSON body exactly as written */
  rawBody: string;
  rest: Buffer;
}

export function splitFirstFrame(bytes: Buffer): FirstFrame {
  if (bytes.length < 9) throw new Error(`no frame header in ${bytes.length} bytes`);
  const type = messageTypeFromByte(bytes[0]);
  if (type === undefined) throw new Error(`unknown type byte 0x${bytes[0].toString(16)}`);
  const length = Number(bytes.readBigInt64BE(1));
  if (length < 0 || bytes.length < 9 + length) throw new Error(`incomplete ${type} frame`);
  const body = bytes.subarray(9, 9 + length);
  return { message: decodeBody(type, body), frame: bytes.subarray(0, 9 + length), rawBody: body.toString('utf8'), rest: bytes.subarray(9 + length) };
}

/** Every message of one direction of a control connection after the login exchange (the writer's IV first). */
export function decryptMessages(bytes: Buffer, key: Buffer): Message[] {
  const decoder = new MessageDecoder();
  decoder.push(new CfbDecryptor(key).update(bytes));
  const out: Message[] = [];
  let msg: Message | undefined;
  while ((msg = decoder.next())) out.push(msg);
  if (decoder.takeRemainder().length > 0) throw new Error('a partial frame is left after the last control message');
  return out;
}

/** One message of an encrypted control direction, with where its ciphertext lies in that direction's bytes. */
export interface CipherSpan {
  message: Message;
  start: number;
  end: number;
}

/**
 * The messages of one encrypted control direction with their byte ranges, so
 * a recorded stream can be replayed in pieces (CFB keeps plaintext and
 * ciphertext offsets equal; the IV is the first 16 bytes).
 */
export function cipherSpans(bytes: Buffer, key: Buffer): CipherSpan[] {
  const plain = new CfbDecryptor(key).update(bytes);
  const spans: CipherSpan[] = [];
  let pos = 0;
  while (pos < plain.length) {
    const first = splitFirstFrame(plain.subarray(pos));
    spans.push({ message: first.message, start: IV_LENGTH + pos, end: IV_LENGTH + pos + first.frame.length });
    pos += first.frame.length;
  }
  return spans;
}

/** How a work connection's payload is transformed after StartWorkConn. */
export interface PayloadOptions {
  key?: Buffer;
  compression: boolean;
}

/** A decoder for one direction of a transformed payload: decrypt (the writer's IV first), then unframe snappy. */
export function payloadDecoder(opts: PayloadOptions): (chunk: Buffer) => Buffer {
  const decryptor = opts.key ? new CfbDecryptor(opts.key) : undefined;
  const snappy = opts.compression ? new SnappyFrameDecoder() : undefined;
  return (chunk) => {
    const plain = decryptor ? decryptor.update(chunk) : chunk;
    return snappy ? snappy.decode(plain) : plain;
  };
}

/** The application bytes carried by one recorded payload direction. */
export function payloadPlaintext(bytes: Buffer, opts: PayloadOptions): Buffer {
  return Buffer.from(payloadDecoder(opts)(bytes));
}

/** A NewWorkConn frame with its run_id replaced by one of the same length (the frame length stays valid). */
export function patchRunId(frame: Buffer, oldRunId: string, newRunId: string): Buffer {
  if (oldRunId.length !== newRunId.length) throw new Error('run ids must have the same length');
  const needle = Buffer.from(`"run_id":"${oldRunId}"`);
  const at = frame.indexOf(needle);
  if (at < 0 || frame.indexOf(needle, at + 1) >= 0) throw new Error('the frame must hold the old run_id exactly once');
  const out = Buffer.from(frame);
  out.write(`"run_id":"${newRunId}"`, at, 'utf8');
  return out;
}

type Mode = 'frames' | 'control' | 'payload';

/**
 * Reads one live logical connection the way a recorded peer would: first
 * plaintext v1 frames (the login exchange, NewWorkConn, StartWorkConn), then
 * either the CFB-encrypted control stream or the payload (optionally
 * decrypted and unframed). Bytes behind the last plaintext frame are kept for
 * what follows, however the stream chunks them; every wait is bounded.
 */
export class PeerReader {
  private mode: Mode = 'frames';
  private pending = Buffer.alloc(0);
  private decryptor: CfbDecryptor | undefined;
  private readonly decoder = new MessageDecoder();
  private decode: (chunk: Buffer) => Buffer = (c) => c;
  private readonly payload: Buffer[] = [];
  private payloadLength = 0;
  private ended = false;
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      try {
        this.take(chunk);
      } catch (err) {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      }
      this.wake();
    });
    const onEnd = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.on('error', (err: Error) => {
      this.failure ??= err;
      this.wake();
    });
  }

  /** Bytes received after the last plaintext frame, not yet taken (frames mode). */
  get pendingLength(): number {
    return this.pending.length;
  }

  /** The next plaintext frame. */
  frame(timeoutMs: number, what: string): Promise<FirstFrame> {
    this.expectMode('frames');
    return this.wait(
      () => {
        if (this.pending.length < 9) return undefined;
        const length = Number(this.pending.readBigInt64BE(1));
        if (this.pending.length < 9 + length) return undefined;
        const first = splitFirstFrame(this.pending);
        this.pending = Buffer.from(first.rest);
        return first;
      },
      timeoutMs,
      what,
    );
  }

  /** From now on the stream is an encrypted control stream (the peer's IV first). */
  startControl(key: Buffer): void {
    this.expectMode('frames');
    this.mode = 'control';
    this.decryptor = new CfbDecryptor(key);
    this.take(this.takePending());
  }

  /** The next decrypted control message. */
  message(timeoutMs: number, what: string): Promise<Message> {
    this.expectMode('control');
    return this.wait(() => this.decoder.next(), timeoutMs, what);
  }

  /** From now on the stream is payload, passed through `decode` (see payloadDecoder). */
  startPayload(decode: (chunk: Buffer) => Buffer = (c) => c): void {
    this.expectMode('frames');
    this.mode = 'payload';
    this.decode = decode;
    this.take(this.takePending());
  }

  /** Resolves with the payload so far once at least `n` bytes of it arrived. */
  payloadAtLeast(n: number, timeoutMs: number, what: string): Promise<Buffer> {
    this.expectMode('payload');
    return this.wait(() => (this.payloadLength >= n ? this.payloadBytes() : undefined), timeoutMs, `${what} (${n} bytes)`);
  }

  /** Resolves with the whole payload once the stream has ended. */
  payloadEnd(timeoutMs: number, what: string): Promise<Buffer> {
    this.expectMode('payload');
    return this.wait(() => (this.ended ? this.payloadBytes() : undefined), timeoutMs, `the end of ${what}`, true);
  }

  private payloadBytes(): Buffer {
    return Buffer.concat(this.payload, this.payloadLength);
  }

  private takePending(): Buffer {
    const out = this.pending;
    this.pending = Buffer.alloc(0);
    return out;
  }

  private take(chunk: Buffer): void {
    if (chunk.length === 0) return;
    switch (this.mode) {
      case 'frames':
        this.pending = Buffer.concat([this.pending, chunk]);
        return;
      case 'control':
        this.decoder.push(this.decryptor!.update(chunk));
        return;
      case 'payload': {
        const plain = this.decode(chunk);
        if (plain.length === 0) return;
        this.payload.push(Buffer.from(plain));
        this.payloadLength += plain.length;
      }
    }
  }

  private expectMode(mode: Mode): void {
    if (this.mode !== mode) throw new Error(`reader is in ${this.mode} mode, not ${mode}`);
  }

  private wait<T>(attempt: () => T | undefined, timeoutMs: number, what: string, endIsOk = false): Promise<T> {
    let waiter: () => void = () => {};
    const work = new Promise<T>((resolve, reject) => {
      waiter = () => {
        try {
          if (this.failure) throw this.failure;
          const got = attempt();
          if (got !== undefined) resolve(got);
          else if (this.ended && !endIsOk) throw new Error(`stream ended before ${what}`);
          else return;
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter();
    });
    return withTimeout(work, timeoutMs, what).finally(() => this.waiters.delete(waiter));
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Where a fake peer receives logical connections: TCP connections, or the streams of one yamux session. */
export interface LogicalListener {
  port: number;
  /** the next logical connection the client opened */
  next(timeoutMs: number, what: string): Promise<Duplex>;
  close(): Promise<void>;
}

/** A fake frps on 127.0.0.1 (port picked by the OS), speaking yamux server side when `tcpMux`. */
export async function listenLogical(tcpMux: boolean): Promise<LogicalListener> {
  const ready: Duplex[] = [];
  const waiting: Array<(d: Duplex) => void> = [];
  const sockets = new Set<Socket>();
  const sessions: YamuxSession[] = [];
  const deliver = (d: Duplex): void => {
    d.on('error', () => {});
    const w = waiting.shift();
    if (w) w(d);
    else ready.push(d);
  };
  // Go sockets, as frps uses them, have Nagle off.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (!tcpMux) return deliver(socket);
    const session = new YamuxSession(socket, { client: false, keepaliveIntervalMs: 0 });
    sessions.push(session);
    session.on('stream', deliver);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    next(timeoutMs, what) {
      const got = ready.shift();
      if (got) return Promise.resolve(got);
      let waiter: (d: Duplex) => void = () => {};
      const work = new Promise<Duplex>((resolve) => {
        waiter = resolve;
        waiting.push(resolve);
      });
      return withTimeout(work, timeoutMs, what).finally(() => {
        const i = waiting.indexOf(waiter);
        if (i >= 0) waiting.splice(i, 1);
      });
    },
    close() {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The fake frpc's link to a server: a TCP connection per logical connection, or one yamux client session. */
export interface LogicalDialer {
  open(): Promise<Duplex>;
  close(): void;
}

export async function dialLogical(port: number, tcpMux: boolean): Promise<LogicalDialer> {
  const dialled = new Set<Socket>();
  const dial = async (): Promise<Socket> => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    socket.on('error', () => {});
    dialled.add(socket);
    socket.once('close', () => dialled.delete(socket));
    await withTimeout(once(socket, 'connect'), 5_000, 'connecting to the server');
    return socket;
  };
  if (!tcpMux) {
    return {
      open: dial,
      close: () => {
        for (const s of dialled) s.destroy();
      },
    };
  }
  const session = new YamuxSession(await dial(), { client: true, keepaliveIntervalMs: 0 });
  return {
    open: () => {
      const stream = session.open();
      stream.on('error', () => {});
      return Promise.resolve(stream);
    },
    close: () => session.destroy(),
  };
}
