/**
 * Hostile traffic for a running server: many short connections, each of one
 * kind of garbage, aimed at the bind port and the vhost ports on 127.0.0.1.
 * Everything is bounded: how many connections at once, how long each lives,
 * how many bytes each sends, and how long the whole attack runs. The same
 * seed gives the same sequence of kinds, targets and payload shapes (the
 * timing of a loaded machine does not repeat).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MESSAGE_TYPE_BYTE } from '../../src/protocol/messages.js';
import { frameHeader, FrameType, Flag } from '../../src/mux/header.js';
import { prng } from './random.js';
import { u16 } from './bytes.js';

export type AttackKind = 'random-bytes' | 'frp-frames' | 'yamux-around-login' | 'half-client-hello' | 'websocket-garbage' | 'endless-http-head' | 'silent';

export type TargetName = 'bind' | 'vhostHttp' | 'vhostHttps' | 'tcpmux';

/** Which kinds make sense at which port: each port gets what a real attacker would try there. */
export const KINDS_BY_TARGET: Readonly<Record<TargetName, readonly AttackKind[]>> = {
  bind: ['random-bytes', 'frp-frames', 'yamux-around-login', 'half-client-hello', 'websocket-garbage', 'endless-http-head', 'silent'],
  vhostHttp: ['random-bytes', 'endless-http-head', 'websocket-garbage', 'silent'],
  vhostHttps: ['random-bytes', 'half-client-hello', 'silent'],
  tcpmux: ['random-bytes', 'endless-http-head', 'silent'],
};

export interface AttackOptions {
  targets: Partial<Record<TargetName, number>>;
  durationMs: number;
  /** connections open at once */
  concurrency: number;
  seed: number;
  /** longest life of one connection */
  maxConnMs?: number;
  /** most bytes one connection sends */
  maxBytesPerConn?: number;
  /** checked between connections: true ends the attack early (the target died) */
  stopWhen?: () => boolean;
}

export interface AttackReport {
  opened: Record<string, number>;
  /** connections the server refused or reset before ours ended them: fine, counted for the record */
  cutByServer: number;
  bytesSent: number;
}

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

/** One connection's bytes, as (delay before, chunk) steps; the connection ends after the last. */
type Plan = Array<{ waitMs: number; data: Buffer }>;

/** Builds the bytes each kind sends; `rand(n)` is the attack's seeded PRNG. */
function planFor(kind: AttackKind, rand: (n: number) => number, maxBytes: number, maxMs: number): Plan {
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = rand(256);
    return b;
  };
  const spread = (chunks: Buffer[]): Plan => chunks.map((data) => ({ waitMs: rand(Math.max(1, Math.floor(maxMs / (chunks.length + 1)))), data }));
  switch (kind) {
    case 'random-bytes': {
      const chunks: Buffer[] = [];
      for (let left = 1 + rand(maxBytes); left > 0; ) {
        const n = Math.min(left, 1 + rand(4096));
        chunks.push(bytes(n));
        left -= n;
      }
      return spread(chunks);
    }
    case 'frp-frames': {
      const chunks: Buffer[] = [];
      for (let i = 0, n = 1 + rand(4); i < n; i++) chunks.push(randomFrpFrame(rand, bytes));
      return spread(chunks);
    }
    case 'yamux-around-login': {
      const chunks: Buffer[] = [];
      for (let i = 0, n = rand(4); i < n; i++) chunks.push(randomYamuxHeader(rand));
      // A Login on stream 1 with a token nobody knows: an unauthenticated peer cannot do better.
      const login = encodeMessage({
        type: 'Login',
        body: { version: '0.70.1', privilege_key: bytes(16).toString('hex'), timestamp: Math.floor(Date.now() / 1000), pool_count: rand(1000) },
      });
      chunks.push(Buffer.concat([frameHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0), frameHeader(FrameType.Data, 0, 1, login.length), login]));
      for (let i = 0, n = rand(4); i < n; i++) chunks.push(randomYamuxHeader(rand));
      return spread(chunks);
    }
    case 'half-client-hello': {
      const hello = clientHello(rand, bytes);
      return spread([hello.subarray(0, 1 + rand(hello.length - 1))]);
    }
    case 'websocket-garbage': {
      const key = bytes(16).toString('base64');
      const upgrade = enc(
        `GET /~!frp HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const chunks = [upgrade];
      for (let i = 0, n = 1 + rand(6); i < n; i++) chunks.push(rand(2) === 0 ? bytes(1 + rand(1024)) : webSocketFrame(rand, bytes));
      // Sometimes the garbage rides in the same segment as the upgrade, before the server has answered.
      if (rand(2) === 0) chunks.splice(0, 2, Buffer.concat(chunks.slice(0, 2)));
      return spread(chunks);
    }
    case 'endless-http-head': {
      const host = rand(2) === 0 ? 'nobody.example' : `x${rand(1000)}.example`;
      const first = rand(3) === 0 ? `CONNECT ${host}:443 HTTP/1.1\r\n` : `GET /${rand(1_000_000)} HTTP/1.1\r\nHost: ${host}\r\n`;
      const chunks = [enc(first)];
      // One header line at a time and never the blank line: the server must give up, not wait forever.
      for (let i = 0, n = 1 + rand(20); i < n; i++) chunks.push(enc(`X-${i}: ${'a'.repeat(rand(200))}\r\n`));
      return spread(chunks);
    }
    case 'silent':
      return [{ waitMs: rand(maxMs), data: Buffer.alloc(0) }];
  }
}

function randomFrpFrame(rand: (n: number) => number, bytes: (n: number) => Buffer): Buffer {
  const types = Object.values(MESSAGE_TYPE_BYTE);
  const type = rand(4) === 0 ? rand(256) : types[rand(types.length)]!;
  const header = Buffer.alloc(9);
  header[0] = type;
  let body: Buffer;
  switch (rand(5)) {
    case 0:
      body = bytes(rand(64));
      break;
    case 1:
      body = enc(
        JSON.stringify({ version: rand(2) ? '0.70.1' : rand(1e9), run_id: bytes(rand(40)).toString('hex'), pool_count: rand(2) ? -rand(1e9) : 1e300 }),
      );
      break;
    case 2:
      body = enc('['.repeat(1 + rand(5000)));
      break;
    case 3:
      body = enc(`{"proxy_name":"${'p'.repeat(rand(9000))}"}`);
      break;
    default:
      body = enc('{}');
  }
  // The declared length is sometimes true, sometimes huge or negative.
  const declared = rand(3) === 0 ? BigInt.asIntN(64, BigInt(rand(2 ** 31)) * BigInt(rand(2 ** 31))) : BigInt(body.length);
  header.writeBigInt64BE(declared, 1);
  return Buffer.concat([header, body]);
}

/** A masked client frame with random flags, opcode and declared length (often a lie). */
function webSocketFrame(rand: (n: number) => number, bytes: (n: number) => Buffer): Buffer {
  const payload = bytes(rand(200));
  const first = rand(256);
  const head: number[] = [first];
  const declared = rand(3) === 0 ? rand(2 ** 31) : payload.length;
  if (declared < 126) head.push(0x80 | declared);
  else if (declared < 65536) head.push(0x80 | 126, declared >> 8, declared & 0xff);
  else head.push(0x80 | 127, 0, 0, 0, 0, (declared >>> 24) & 0xff, (declared >> 16) & 0xff, (declared >> 8) & 0xff, declared & 0xff);
  return Buffer.concat([Buffer.from(head), bytes(4), payload]);
}

function randomYamuxHeader(rand: (n: number) => number): Buffer {
  const h = Buffer.alloc(12);
  h[0] = rand(8) === 0 ? rand(256) : 0;
  h[1] = rand(5);
  h.writeUInt16BE(rand(16), 2);
  h.writeUInt32BE(rand(2) ? rand(16) : rand(2 ** 32), 4);
  h.writeUInt32BE(rand(2) ? rand(64) : rand(2 ** 32), 8);
  return h;
}

/** A plausible TLS 1.2 ClientHello record with SNI; callers send only part of it. */
function clientHello(rand: (n: number) => number, bytes: (n: number) => Buffer): Buffer {
  const name = enc(`h${rand(1000)}.example`);
  const sni = Buffer.concat([Buffer.from([0, 0]), u16(name.length + 5), u16(name.length + 3), Buffer.from([0]), u16(name.length), name]);
  const body = Buffer.concat([Buffer.from([3, 3]), bytes(32), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(sni.length), sni]);
  const hs = Buffer.concat([Buffer.from([1, 0]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

/** Runs one connection's plan; resolves when the connection is gone, whoever ended it. */
async function runOne(port: number, plan: Plan, report: AttackReport, stopAt: number): Promise<void> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  let cut = false;
  socket.on('error', () => (cut = true));
  socket.on('data', () => {}); // read whatever the server answers, so its writes never stall on us
  // Not events.once: that rejects on 'error', and an error here is expected, not a failure.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
    for (const step of plan) {
      if (socket.destroyed || Date.now() >= stopAt) break;
      if (step.waitMs > 0) await Promise.race([delay(Math.min(step.waitMs, stopAt - Date.now())), closed]);
      if (socket.destroyed || step.data.length === 0) continue;
      socket.write(step.data);
      report.bytesSent += step.data.length;
    }
  } finally {
    if (socket.destroyed) report.cutByServer += cut ? 1 : 0;
    socket.destroy();
    await closed;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Keeps `concurrency` hostile connections going until `durationMs` has passed; every one is closed when it resolves. */
export async function runAttack(opts: AttackOptions): Promise<AttackReport> {
  const rand = prng(opts.seed);
  const maxMs = opts.maxConnMs ?? 2000;
  const maxBytes = opts.maxBytesPerConn ?? 64 * 1024;
  const targets = (Object.entries(opts.targets) as Array<[TargetName, number]>).filter(([, port]) => port > 0);
  if (targets.length === 0) throw new Error('runAttack: no target port');
  const report: AttackReport = { opened: {}, cutByServer: 0, bytesSent: 0 };
  const stopAt = Date.now() + opts.durationMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt && !opts.stopWhen?.()) {
      const [target, port] = targets[rand(targets.length)]!;
      const kinds = KINDS_BY_TARGET[target];
      const kind = kinds[rand(kinds.length)]!;
      const label = `${target}:${kind}`;
      report.opened[label] = (report.opened[label] ?? 0) + 1;
      await runOne(port, planFor(kind, rand, maxBytes, maxMs), report, stopAt);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return report;
}

// ---------------------------------------------------------------------------
// The server under attack, as its own process.

export interface ProcessStats {
  rssBytes: number;
  fds: number;
}

/** RSS (VmRSS in /proc/<pid>/status) and open descriptors (/proc/<pid>/fd) of a live process. */
export function processStats(pid: number): ProcessStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return { rssBytes: Number(kb[1]) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  bindPort: number;
  /** everything the server wrote to stderr so far */
  stderr(): string;
  /** null while the process runs */
  exitCode(): number | string | null;
  stop(): Promise<void>;
}

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/**
 * Starts the built CLI as `burrow server -c <toml>` and resolves once it
 * logged its bind address; `toml` must bind to 127.0.0.1 port 0.
 */
export async function spawnServer(toml: string, timeoutMs = 20_000): Promise<SpawnedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-hostile-'));
  const file = join(dir, 'frps.toml');
  writeFileSync(file, toml);
  const child = spawn(process.execPath, [BIN, 'server', '-c', file, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  // Only the head and the tail are kept: a long attack logs a line per refused connection.
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 256 * 1024) err = err.slice(0, 64 * 1024) + '\n…\n' + err.slice(-128 * 1024);
  });
  const exited = once(child, 'exit');
  const bindPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not log its address within ${timeoutMs} ms: ${err}`)), timeoutMs);
    const check = (): void => {
      const m = /server listening addr=127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stderr!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited (${child.exitCode ?? child.signalCode}) before listening: ${err}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    bindPort,
    stderr: () => err,
    exitCode: () => child.exitCode ?? child.signalCode,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
