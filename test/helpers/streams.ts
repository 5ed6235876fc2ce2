import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';

/** Hands pushed items to whoever awaits next(), in order; counts everything pushed. */
export function queue<T>(): { push: (item: T) => void; next(): Promise<T>; count(): number } {
  const ready: T[] = [];
  const waiting: Array<(item: T) => void> = [];
  let total = 0;
  return {
    push(item) {
      total++;
      const waiter = waiting.shift();
      if (waiter) waiter(item);
      else ready.push(item);
    },
    next() {
      return ready.length > 0 ? Promise.resolve(ready.shift() as T) : new Promise((resolve) => waiting.push(resolve));
    },
    count: () => total,
  };
}

/** Reads exactly `n` bytes and puts anything beyond them back into the stream. */
export function readBytes(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const cleanup = (): void => {
      stream.pause();
      stream.off('data', onData);
      stream.off('end', onEnd);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      got += chunk.length;
      if (got < n) return;
      cleanup();
      const all = Buffer.concat(chunks);
      if (got > n) stream.unshift(all.subarray(n));
      resolve(all.subarray(0, n));
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`stream ended after ${got} of ${n} bytes`));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.resume();
  });
}

export interface SocketPairOptions {
  /** both ends keep their writable side after the peer's FIN (a relay forwards half-closes) */
  allowHalfOpen?: boolean;
  /** stream buffer size on both ends, e.g. the relay's */
  highWaterMark?: number;
}

/**
 * A connected pair of real TCP sockets on 127.0.0.1: [dialling end, accepted
 * end]. Both are destroyed when the test ends, passed or failed, so a failing
 * assertion never leaves the file waiting for open sockets.
 */
export async function socketPair(t: TestContext, opts: SocketPairOptions = {}): Promise<[Socket, Socket]> {
  const { allowHalfOpen = false, highWaterMark } = opts;
  const buffers = highWaterMark === undefined ? {} : { readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark };
  const server = createServer({ allowHalfOpen, ...(highWaterMark === undefined ? {} : { highWaterMark }) });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const outer = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen, ...buffers });
  t.after(() => {
    outer.destroy();
    server.close();
  });
  const [[inner]] = await Promise.all([accepted, once(outer, 'connect')]);
  server.close();
  t.after(() => inner.destroy());
  return [outer, inner];
}

/** Everything a stream delivers until its end. */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return once(s, 'end').then(() => Buffer.concat(chunks));
}

/** A plain TCP connection to 127.0.0.1:`port` from `localAddress` (another loopback address is another peer to the server); errors are the test's to observe. */
export async function rawSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}
