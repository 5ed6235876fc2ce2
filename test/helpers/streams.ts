import type { Duplex } from 'node:stream';

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
