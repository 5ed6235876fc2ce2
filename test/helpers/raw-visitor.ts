import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { withTimeout } from '../../src/util/timeout.js';

/**
 * A visitor speaking raw bytes to a public port, for tests of what a
 * misbehaving peer gets: it keeps everything received and notes when the
 * server ended (FIN) or closed the connection.
 */
export interface RawVisitor {
  socket: Socket;
  /** everything received so far, latin1 */
  readonly text: string;
  /** Date.now() at the server's FIN, or undefined */
  readonly endedAt: number | undefined;
  /** resolves with Date.now() once the connection is closed (either side) */
  readonly closed: Promise<number>;
  /** resolves once `text` contains `needle` (rejects after `timeoutMs` or at close) */
  waitForText(needle: string, timeoutMs?: number): Promise<void>;
  /** resolves once the server has sent FIN or the connection closed */
  waitForEnd(timeoutMs?: number): Promise<void>;
}

export async function openRawVisitor(port: number, opts: { localAddress?: string; allowHalfOpen?: boolean } = {}): Promise<RawVisitor> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress, allowHalfOpen: opts.allowHalfOpen ?? false });
  socket.on('error', () => {});
  await once(socket, 'connect');
  let text = '';
  let endedAt: number | undefined;
  let wake: (() => void) | undefined;
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  let isClosed = false;
  void closed.then(() => {
    isClosed = true;
    wake?.();
  });
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    wake?.();
  });
  socket.on('end', () => {
    endedAt = Date.now();
    wake?.();
  });
  const until = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    withTimeout(
      (async () => {
        while (!done()) {
          if (isClosed) throw new Error(`connection closed before ${what}; received ${JSON.stringify(text.slice(0, 200))}`);
          await new Promise<void>((resolve) => (wake = resolve));
        }
      })(),
      timeoutMs,
      what,
    ).finally(() => (wake = undefined));
  return {
    socket,
    get text() {
      return text;
    },
    get endedAt() {
      return endedAt;
    },
    closed,
    waitForText: (needle, timeoutMs = 10_000) => until(() => text.includes(needle), JSON.stringify(needle), timeoutMs),
    waitForEnd: (timeoutMs = 10_000) => until(() => endedAt !== undefined || isClosed, 'the server to end', timeoutMs),
  };
}

/** Writes `bytes` one byte every `intervalMs` until they run out or the connection closes. */
export function drip(visitor: RawVisitor, bytes: Buffer, intervalMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= bytes.length || visitor.socket.destroyed) {
      clearInterval(timer);
      return;
    }
    visitor.socket.write(bytes.subarray(at, at + 1));
    at += 1;
  }, intervalMs);
  void visitor.closed.then(() => clearInterval(timer));
}
