/**
 * http vhost vs the direct path on loopback. Spawns the real CLI (dist/) as two
 * processes, `burrow server` (with vhostHTTPPort) and `burrow client` (one
 * `http` proxy on a custom domain), and prints JSON: keep-alive small GETs
 * (requests/s, latency p50/p99 under load and one request at a time) from a
 * node:http load generator and from wrk when installed, and MB/s of one large
 * download, plus the CPU time burrow's server and client spend per small
 * request; every tunnel figure also as a ratio to the direct path.
 *
 *   npm run bench:http -- [--variants default,plain,default-inspect] [--duration 5] [--connections 32]
 *                         [--size-mib 256] [--rounds 2000] [--wrk auto|off] [--repeat 1] [--no-floor]
 *                         [--server-node-flags="--cpu-prof --cpu-prof-dir=prof"] [--client-node-flags=...]
 *
 * The backend is a node:http server in a child process of its own, so the
 * direct path is not measured with generator and backend sharing one event loop.
 * `floor` (on unless --no-floor): the same load through two bare `pipe()`
 * relay processes in the tunnel's place (bench/bare-relay.mjs), which parse
 * nothing: what two extra Node processes cost on this machine before any
 * routing. Each variant is also given as ratioToFloor.
 *
 * With --repeat N every path is measured N times and each block of figures
 * (load run, sequential latency, wrk run, download) keeps its best run: on a
 * shared machine, other work only ever makes a run slower.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuMs, freePort, listen, percentiles, round, spawnUntil, startBareRelays, startTunnel, stop } from './lib.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'default,plain' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    'size-mib': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '2000' },
    repeat: { type: 'string', default: '1' },
    wrk: { type: 'string', default: 'auto' },
    floor: { type: 'boolean', default: true },
    'server-node-flags': { type: 'string', default: '' },
    'client-node-flags': { type: 'string', default: '' },
    /** internal: `backend` when this file runs as the backend child */
    role: { type: 'string', default: 'bench' },
  },
});

const DOMAIN = 'bench.localhost';
const SMALL_BODY = Buffer.from('burrow http bench: a small plain-text answer of about one hundred bytes, the same every time.\n');
const MAX_DOWNLOAD = 16 * 1024 ** 3;
const REQUEST_TIMEOUT_MS = 10_000;
/** Bounds the per-request samples kept from one run (a few seconds at any plausible rate fit). */
const MAX_SAMPLES = 5_000_000;

function bounded(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

const durationMs = bounded('duration', values.duration!, 0.5, 120) * 1000;
const warmupMs = bounded('warmup', values.warmup!, 0, 30) * 1000;
const connections = Math.round(bounded('connections', values.connections!, 1, 1024));
const downloadBytes = Math.round(bounded('size-mib', values['size-mib']!, 1, MAX_DOWNLOAD / 1024 ** 2) * 1024 ** 2);
const rounds = Math.round(bounded('rounds', values.rounds!, 10, 1_000_000));
const repeat = Math.round(bounded('repeat', values.repeat!, 1, 10));

/** Link options per variant: `default` is frp's defaults (TLS + yamux). */
/** `-inspect` variants record every exchange in the client's inspector (burrow's `inspect = true`). */
const VARIANTS: Record<string, { tcpMux: boolean; tls: boolean; inspect?: boolean }> = {
  default: { tcpMux: true, tls: true },
  'mux-plain': { tcpMux: true, tls: false },
  plain: { tcpMux: false, tls: false },
  'tls-nomux': { tcpMux: false, tls: true },
  'default-inspect': { tcpMux: true, tls: true, inspect: true },
  'plain-inspect': { tcpMux: false, tls: false, inspect: true },
};

/** Child role: `/small` answers SMALL_BODY, `/large?bytes=N` streams N bytes with a Content-Length. */
async function runBackend(): Promise<void> {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (url.pathname === '/small') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL_BODY.length });
      res.end(SMALL_BODY);
      return;
    }
    const bytes = Number(url.searchParams.get('bytes'));
    if (url.pathname !== '/large' || !Number.isInteger(bytes) || bytes < 0 || bytes > MAX_DOWNLOAD) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => {});
    pump();
  });
  // Connections sit idle between phases; the default 5 s would close some of them mid-bench.
  server.keepAliveTimeout = 120_000;
  const port = await listen(server);
  console.log(`backend listening port=${port}`);
}

interface LoadFigures {
  requests: number;
  errors: number;
  requestsPerSec: number;
  latencyUs: { p50: number; p99: number };
}

/** One GET on a keep-alive agent; resolves the body length, rejects on any non-200 answer. */
function get(port: number, path: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: DOMAIN } }, (res: IncomingMessage) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.once('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode} for ${path}`))));
      res.once('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer to ${path} in ${REQUEST_TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** `conns` workers each issuing small GETs back to back for `ms`; requests/s and per-request latency. */
async function nodeLoad(port: number, agent: Agent, conns: number, ms: number): Promise<LoadFigures> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const t = process.hrtime.bigint();
      try {
        const n = await get(port, '/small', agent);
        if (n !== SMALL_BODY.length) throw new Error(`small body of ${n} bytes, expected ${SMALL_BODY.length}`);
      } catch (err) {
        errors++;
        firstError ??= err;
        continue;
      }
      if (samples.length < MAX_SAMPLES) samples.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  };
  await Promise.all(Array.from({ length: conns }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (samples.length === 0) throw new Error(`every request failed: ${String(firstError)}`);
  return { requests: samples.length, errors, requestsPerSec: round(samples.length / secs, 0), latencyUs: percentiles(samples) };
}

/** One connection, one request at a time: the added latency without queueing. */
async function sequentialLatency(port: number): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds + 200; i++) {
      const t = process.hrtime.bigint();
      await get(port, '/small', agent);
      if (i >= 200) samples.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    agent.destroy();
  }
  return percentiles(samples);
}

/**
 * MB/s of one GET of `downloadBytes` on a fresh connection. The client is a
 * bare socket that only finds the end of the head and counts body bytes:
 * node:http's client tops out near the direct path's speed and would hide
 * the tunnel's cost.
 */
function download(port: number): Promise<number> {
  const timeoutMs = 30_000 + downloadBytes / 10_000; // at least 10 MB/s
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    const start = process.hrtime.bigint();
    let head: Buffer | undefined = Buffer.alloc(0);
    let body = 0;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(round(downloadBytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9), 1));
    };
    const timer = setTimeout(() => finish(new Error(`download: ${body} of ${downloadBytes} bytes after ${timeoutMs} ms`)), timeoutMs);
    s.once('connect', () => s.write(`GET /large?bytes=${downloadBytes} HTTP/1.1\r\nHost: ${DOMAIN}\r\nConnection: close\r\n\r\n`));
    s.on('data', (c: Buffer) => {
      if (head !== undefined) {
        head = Buffer.concat([head, c]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 65_536) finish(new Error('download: response head larger than 64 KiB'));
          return;
        }
        const text = head.toString('latin1', 0, end);
        if (!/^HTTP\/1\.1 200 /.test(text) || !new RegExp(`\r\ncontent-length: ${downloadBytes}\r?$`, 'im').test(text)) {
          finish(new Error(`download: unexpected response head ${JSON.stringify(text.slice(0, 300))}`));
          return;
        }
        body = head.length - end - 4;
        head = undefined;
      } else {
        body += c.length;
      }
      if (body > downloadBytes) finish(new Error(`download: ${body} bytes, more than the ${downloadBytes} announced`));
      else if (body === downloadBytes) finish();
    });
    s.once('error', finish);
    s.once('end', () => finish(new Error(`download: connection closed after ${body} of ${downloadBytes} bytes`)));
  });
}

const WRK_UNITS: Record<string, number> = { us: 1, ms: 1000, s: 1e6 };

/** wrk with one thread (two cores are shared with backend, server and client) and its latency distribution. */
async function wrkLoad(port: number): Promise<{ requestsPerSec: number; latencyUs: { p50: number; p99: number }; errors: string | null }> {
  const secs = Math.max(1, Math.round(durationMs / 1000));
  const args = ['-t1', `-c${connections}`, `-d${secs}s`, '--latency', '-H', `Host: ${DOMAIN}`, `http://127.0.0.1:${port}/small`];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), secs * 1000 + 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const lat = (q: string): number => {
    const m = new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk printed no ${q}% latency: ${out}`);
    return round(Number(m[1]) * WRK_UNITS[m[2]!]!, 1);
  };
  if (code !== 0 || !rps) throw new Error(`wrk failed (exit ${code}): ${out}`);
  const errors = /Socket errors:.*|Non-2xx or 3xx responses:.*/.exec(out);
  return { requestsPerSec: round(Number(rps[1]), 0), latencyUs: { p50: lat('50'), p99: lat('99') }, errors: errors ? errors[0].trim() : null };
}

interface Figures {
  node: LoadFigures;
  sequentialLatencyUs: { p50: number; p99: number };
  wrk?: Awaited<ReturnType<typeof wrkLoad>>;
  downloadMBps: number;
  /** CPU used by burrow server / client per small request of the node run, in µs */
  cpuUsPerRequest?: { server: number; client: number };
}

async function measure(port: number, useWrk: boolean, pids?: { server: number; client: number }): Promise<Figures> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  let node: LoadFigures;
  let cpuUsPerRequest: Figures['cpuUsPerRequest'];
  try {
    if (warmupMs > 0) await nodeLoad(port, agent, connections, warmupMs);
    const cpu0 = pids && { server: cpuMs(pids.server), client: cpuMs(pids.client) };
    node = await nodeLoad(port, agent, connections, durationMs);
    if (pids && cpu0) {
      const per = (pid: number, before: number): number => round(((cpuMs(pid) - before) * 1000) / node.requests, 1);
      cpuUsPerRequest = { server: per(pids.server, cpu0.server), client: per(pids.client, cpu0.client) };
    }
  } finally {
    agent.destroy();
  }
  const sequentialLatencyUs = await sequentialLatency(port);
  const wrk = useWrk ? await wrkLoad(port) : undefined;
  const downloadMBps = await download(port);
  return { node, sequentialLatencyUs, ...(wrk ? { wrk } : {}), downloadMBps, ...(cpuUsPerRequest ? { cpuUsPerRequest } : {}) };
}

/** Best of the repeated runs, block by block (see the header comment). */
async function measureBest(port: number, useWrk: boolean, pids?: { server: number; client: number }): Promise<Figures> {
  let best = await measure(port, useWrk, pids);
  for (let i = 1; i < repeat; i++) {
    const f = await measure(port, useWrk, pids);
    const node = f.node.requestsPerSec > best.node.requestsPerSec;
    best = {
      node: node ? f.node : best.node,
      sequentialLatencyUs: f.sequentialLatencyUs.p50 < best.sequentialLatencyUs.p50 ? f.sequentialLatencyUs : best.sequentialLatencyUs,
      ...(f.wrk && best.wrk ? { wrk: f.wrk.requestsPerSec > best.wrk.requestsPerSec ? f.wrk : best.wrk } : {}),
      downloadMBps: Math.max(f.downloadMBps, best.downloadMBps),
      ...(best.cpuUsPerRequest ? { cpuUsPerRequest: node ? f.cpuUsPerRequest : best.cpuUsPerRequest } : {}),
    };
  }
  return best;
}

function ratios(f: Figures, d: Figures): Record<string, number> {
  const r: Record<string, number> = {
    requestsPerSec: round(f.node.requestsPerSec / d.node.requestsPerSec, 3),
    latencyP50: round(f.node.latencyUs.p50 / d.node.latencyUs.p50, 2),
    latencyP99: round(f.node.latencyUs.p99 / d.node.latencyUs.p99, 2),
    sequentialLatencyP50: round(f.sequentialLatencyUs.p50 / d.sequentialLatencyUs.p50, 2),
    sequentialLatencyP99: round(f.sequentialLatencyUs.p99 / d.sequentialLatencyUs.p99, 2),
    download: round(f.downloadMBps / d.downloadMBps, 3),
  };
  if (f.wrk && d.wrk) {
    r.wrkRequestsPerSec = round(f.wrk.requestsPerSec / d.wrk.requestsPerSec, 3);
    r.wrkLatencyP50 = round(f.wrk.latencyUs.p50 / d.wrk.latencyUs.p50, 2);
    r.wrkLatencyP99 = round(f.wrk.latencyUs.p99 / d.wrk.latencyUs.p99, 2);
  }
  return r;
}

function wrkInstalled(): boolean {
  if (values.wrk === 'off') return false;
  if (values.wrk !== 'auto') throw new Error(`--wrk must be auto or off, got "${values.wrk}"`);
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

async function main(): Promise<void> {
  const useWrk = wrkInstalled();
  const serverNodeFlags = values['server-node-flags']!.split(/\s+/).filter((f) => f !== '');
  const clientNodeFlags = values['client-node-flags']!.split(/\s+/).filter((f) => f !== '');
  const backend = await spawnUntil(process.execPath, [...process.execArgv, import.meta.filename, '--role', 'backend'], /backend listening port=(\d+)/);
  const backendPort = Number(backend.match[1]);
  const results: Record<string, unknown> = {};
  try {
    const direct = await measureBest(backendPort, useWrk);
    Object.assign(results, {
      machine: { node: process.versions.node, cpus: cpus().length },
      params: {
        repeat,
        durationSec: durationMs / 1000,
        warmupSec: warmupMs / 1000,
        connections,
        sequentialRounds: rounds,
        downloadMiB: downloadBytes / 1024 ** 2,
      },
      loadGenerators: useWrk ? ['node:http', 'wrk -t1'] : ['node:http'],
      direct,
    });
    let floor: Awaited<ReturnType<typeof measureBest>> | undefined;
    if (values.floor) {
      const relays = await startBareRelays([backendPort]);
      try {
        floor = await measureBest(relays.ports[0]!, useWrk);
        results.floor = { ...floor, ratioToDirect: ratios(floor, direct) };
      } finally {
        await relays.stop();
      }
    }
    for (const name of values.variants!.split(',')) {
      const v = VARIANTS[name];
      if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
      const vhostPort = await freePort();
      const tunnel = await startTunnel({
        serverLines: [`vhostHTTPPort = ${vhostPort}`, `transport.tcpMux = ${v.tcpMux}`],
        clientLines: [
          `transport.tcpMux = ${v.tcpMux}`,
          `transport.tls.enable = ${v.tls}`,
          `transport.poolCount = 5`,
          `[[proxies]]`,
          `name = "web"`,
          `type = "http"`,
          `localPort = ${backendPort}`,
          `customDomains = ["${DOMAIN}"]`,
          `inspect = ${v.inspect === true}`,
        ],
        ready: /\[web\] start proxy success type=http /,
        serverNodeFlags,
        clientNodeFlags,
      });
      try {
        const f = await measureBest(vhostPort, useWrk, { server: tunnel.server.child.pid!, client: tunnel.client.child.pid! });
        results[name] = { ...v, ...f, ratioToDirect: ratios(f, direct), ...(floor ? { ratioToFloor: ratios(f, floor) } : {}) };
        // The inspector's cost: the same link without it, when that variant ran first.
        const base = results[name.replace(/-inspect$/, '')] as typeof f | undefined;
        if (v.inspect && base) (results[name] as Record<string, unknown>).ratioToUninspected = ratios(f, base);
      } finally {
        await tunnel.stop();
      }
    }
  } finally {
    await stop(backend.child);
  }
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

if (values.role === 'backend') {
  runBackend().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
