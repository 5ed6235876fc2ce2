// Throughput of one yamux stream over a loopback TCP connection, with the
// sender in a child process (its own core) and the receiver here; the same
// transfer over a bare socket is measured for reference.
// Usage: node --import tsx bench/mux.ts [MiB=256] [chunkKiB=64]
// Prints one JSON line.
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { YamuxSession } from '../src/mux/session.js';
import type { YamuxStream } from '../src/mux/stream.js';

type Mode = 'yamux' | 'raw';

async function send(mode: Mode, port: number, total: number, chunkBytes: number): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.setNoDelay(true);
  const mux = mode === 'yamux' ? new YamuxSession(sock, { client: true, keepaliveIntervalMs: 0 }) : null;
  const out: Duplex = mux ? mux.open() : sock;
  // The receiver tears the session down once it has everything.
  out.on('error', () => {});
  const chunk = Buffer.alloc(chunkBytes, 0x61);
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(sock, 'close');
}

async function receive(mode: Mode, total: number, chunkBytes: number): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'send', mode, String(port), String(total), String(chunkBytes)], {
    stdio: 'inherit',
  });
  const [sock] = (await once(server, 'connection')) as [Socket];
  sock.setNoDelay(true);
  let input: Duplex = sock;
  let mux: YamuxSession | null = null;
  if (mode === 'yamux') {
    mux = new YamuxSession(sock, { client: false, keepaliveIntervalMs: 0 });
    [input] = (await once(mux, 'stream')) as [YamuxStream];
  }
  let received = 0;
  let start = 0n;
  input.on('data', (b: Buffer) => {
    if (received === 0) start = process.hrtime.bigint();
    received += b.length;
  });
  await once(input, 'end');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (received !== total) throw new Error(`${mode}: received ${received} of ${total} bytes`);
  if (mux) mux.destroy();
  else sock.destroy();
  server.close();
  await once(child, 'exit');
  return total / 1e6 / seconds;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'send') {
    const [, , , mode, port, total, chunkBytes] = process.argv;
    await send(mode as Mode, Number(port), Number(total), Number(chunkBytes));
    return;
  }
  const totalMiB = Number(process.argv[2] ?? 256);
  const chunkKiB = Number(process.argv[3] ?? 64);
  const total = totalMiB * 1024 * 1024;
  const chunkBytes = chunkKiB * 1024;
  const rawMBps = process.env.BENCH_SKIP_RAW ? NaN : await receive('raw', total, chunkBytes);
  const yamuxMBps = await receive('yamux', total, chunkBytes);
  console.log(
    JSON.stringify({
      bench: 'yamux-one-stream-loopback',
      bytes: total,
      chunkBytes,
      yamuxMBps: Math.round(yamuxMBps),
      rawSocketMBps: Math.round(rawMBps),
      ratio: Number((yamuxMBps / rawMBps).toFixed(2)),
    }),
  );
}

await main();
