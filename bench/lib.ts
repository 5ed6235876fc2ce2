import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Measuring helpers shared by the benchmarks: services, visitors, process RSS. */

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Echo service (latency, conn/s, idle memory). */
export function echoServer(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
}

/** Sink service: counts bytes, answers the total as 8 bytes when the sender half-closes. */
export function sinkServer(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('error', () => {});
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('end', () => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      s.end(b);
    });
  });
}

export function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One-way stream of `bytes`; MB/s measured until the sink confirms receipt of all of them. */
export async function throughput(port: number, bytes: number): Promise<number> {
  const s = await dial(port);
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const start = process.hrtime.bigint();
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(chunk.length, bytes - sent);
    sent += n;
    if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(s, 'drain');
  }
  s.end();
  const [answer] = (await once(s, 'data')) as [Buffer];
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  s.destroy();
  const got = Number(answer.readBigUInt64BE(0));
  if (got !== bytes) throw new Error(`sink received ${got} of ${bytes} bytes`);
  return bytes / 1e6 / (ms / 1000);
}

/** Sequential 64-byte echo round trips on one connection; microseconds p50/p99. */
export async function latency(port: number, rounds: number): Promise<{ p50: number; p99: number }> {
  const s = await dial(port);
  await echoRounds(s, 200);
  const samples = await echoRounds(s, rounds);
  s.destroy();
  return percentiles(samples);
}

/** `rounds` sequential 64-byte echo round trips on an open connection; each one's time in microseconds. */
export async function echoRounds(s: Socket, rounds: number): Promise<number[]> {
  const msg = Buffer.alloc(64, 0x62);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    s.write(msg);
    let got = 0;
    while (got < msg.length) {
      const [c] = (await once(s, 'data')) as [Buffer];
      got += c.length;
    }
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return samples;
}

/** New connections per second: connect, one byte echoed, close; `concurrency` at a time. */
export async function connectionsPerSecond(port: number, total: number, concurrency: number): Promise<number> {
  let started = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      const s = await dial(port);
      s.write('x');
      await once(s, 'data');
      s.destroy();
      await once(s, 'close');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Opens `count` connections, each proven live by one echoed byte, and keeps them open. */
export async function openIdle(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async () => {
        const s = await dial(port);
        s.write('x');
        await once(s, 'data');
        return s;
      }),
    );
    sockets.push(...batch);
  }
  return sockets;
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export interface Spawned {
  child: ChildProcess;
  match: RegExpMatchArray;
}

/** Starts a command and waits for a line on stderr/stdout matching `re` (readiness from its own log). */
export function spawnUntil(cmd: string, args: string[], re: RegExp, timeoutMs = 20_000): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${cmd} did not print ${re} in time: ${text}`));
    }, timeoutMs);
    const onData = (c: Buffer): void => {
      text += c.toString();
      const m = text.match(re);
      if (m) {
        clearTimeout(timer);
        // Later output (a chatty log level) is not collected for the rest of the run.
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}: ${text}`));
    });
  });
}

export function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-bench-')), name);
  writeFileSync(file, text);
  return file;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** A port nobody listens on right now, for configs that need a fixed number (the OS picks it, then it is released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** CPU time (user + system) a process has used so far, in ms; Linux clock ticks are 10 ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** p50/p99 of samples (sorted in place), rounded to 0.1. */
export function percentiles(samples: number[]): { p50: number; p99: number } {
  samples.sort((a, b) => a - b);
  const pick = (q: number): number => Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]! * 10) / 10;
  return { p50: pick(0.5), p99: pick(0.99) };
}

/** The built CLI, as a user runs it. */
export const BURROW_BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

export interface TunnelProcesses {
  server: Spawned;
  client: Spawned;
  /** stops the client, then the server */
  stop(): Promise<void>;
}

/**
 * `burrow server` and `burrow client` as two processes on loopback with the
 * token "bench": `serverLines` and `clientLines` are TOML lines added to each
 * file (link settings, proxies); resolves once the client printed `ready`.
 */
export async function startTunnel(opts: {
  serverLines: string[];
  clientLines: string[];
  ready: RegExp;
  serverNodeFlags?: string[];
  clientNodeFlags?: string[];
}): Promise<TunnelProcesses> {
  const serverCfg = tempFile('frps.toml', ['bindAddr = "127.0.0.1"', 'bindPort = 0', 'auth.token = "bench"', ...opts.serverLines, ''].join('\n'));
  const server = await spawnUntil(
    process.execPath,
    [...(opts.serverNodeFlags ?? []), BURROW_BIN, 'server', '-c', serverCfg],
    /server listening addr=127\.0\.0\.1:(\d+)/,
  );
  try {
    const clientCfg = tempFile(
      'frpc.toml',
      ['serverAddr = "127.0.0.1"', `serverPort = ${server.match[1]}`, 'auth.token = "bench"', ...opts.clientLines, ''].join('\n'),
    );
    const client = await spawnUntil(process.execPath, [...(opts.clientNodeFlags ?? []), BURROW_BIN, 'client', '-c', clientCfg], opts.ready);
    return {
      server,
      client,
      stop: async () => {
        await stop(client.child);
        await stop(server.child);
      },
    };
  } catch (err) {
    await stop(server.child);
    throw err;
  }
}

/**
 * Two bare `pipe()` relay processes chained in front of `targets` (see
 * bench/bare-relay.mjs): the same process topology as a tunnel, with nothing
 * of burrow in it; with `tls` the hop between them is TLS. Returns the outer
 * ports, one per target, and a stop().
 */
export async function startBareRelays(targets: number[], opts: { tls?: boolean } = {}): Promise<{ ports: number[]; pids: number[]; stop(): Promise<void> }> {
  const script = join(import.meta.dirname, 'bare-relay.mjs');
  const spawnRelay = (to: number[], flag: string[]): Promise<Spawned> =>
    spawnUntil(process.execPath, [script, ...flag, to.join(',')], /bare relay ports=([\d,]+)/);
  const inner = await spawnRelay(targets, opts.tls ? ['--tls-listen'] : []);
  let outer: Spawned;
  try {
    outer = await spawnRelay(inner.match[1]!.split(',').map(Number), opts.tls ? ['--tls-dial'] : []);
  } catch (err) {
    await stop(inner.child);
    throw err;
  }
  return {
    ports: outer.match[1]!.split(',').map(Number),
    pids: [outer.child.pid!, inner.child.pid!],
    stop: async () => {
      await stop(outer.child);
      await stop(inner.child);
    },
  };
}
