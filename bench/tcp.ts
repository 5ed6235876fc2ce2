/**
 * tcp tunnel vs the direct path on loopback. Spawns the real CLI (dist/) as two
 * processes, `burrow server` and `burrow client`, like a user runs them, and
 * prints JSON: throughput (median of several 1 GiB streams) and the relay
 * processes' CPU per GiB, echo latency p50/p99, connections/s, and memory per
 * idle tunnelled connection, each with its ratio to the direct path. All
 * paths stay open for the whole run and are measured in turns (see SLICES).
 *
 *   npm run bench -- [--size-mib 1024] [--streams 3] [--variants default,mux-plain,plain] [--rounds 5000] [--no-floor]
 *                    [--node-flags=--initial-old-space-size=64]
 *   npm run bench -- --transport tcp,tls,websocket,wss [--mux off]
 *   npm run bench -- --quick   (tiny sizes, one slice: checks every path runs, measures nothing worth quoting)
 *
 * --transport replaces --variants with one run per transport kind (tcpMux on
 * unless --mux off): tcp (plain), tls (tcp + TLS), websocket (no TLS inside),
 * wss (TLS, then websocket).
 *
 * The echo and sink services run in a process of their own (bench/services.mjs),
 * as a real service does; `direct` is the generator reaching them without a
 * tunnel, and every ratio is to it. `directInProcess` (services inside the
 * generator, never crossing a process boundary) is printed too: earlier notes
 * used it as the baseline.
 *
 * `floor` (on unless --no-floor) runs the same measurements through two bare
 * `pipe()` relay processes in the tunnel's place (bench/bare-relay.mjs): what
 * any two-process Node relay gets on this machine; `floorTls` is the same
 * with TLS between the two relays. Each tunnel variant is also given as a
 * ratio to the floor of its kind (with or without TLS), which separates
 * burrow's own cost from the machine's and Node's (on 2 cores, four busy
 * processes share them).
 */
import { parseArgs } from 'node:util';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  connectionsPerSecond,
  cpuMs,
  dial,
  echoRounds,
  echoServer,
  listen,
  openIdle,
  percentiles,
  round,
  rssKiB,
  sinkServer,
  spawnUntil,
  startBareRelays,
  startTunnel,
  stop,
  throughput,
} from './lib.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    variants: { type: 'string', default: 'default,mux-plain,plain' },
    floor: { type: 'boolean', default: true },
    /** extra Node flags for burrow server and client, e.g. --node-flags=--initial-old-space-size=64 */
    'node-flags': { type: 'string', default: '' },
    rounds: { type: 'string', default: '5000' },
    /** streams per path; the median is reported (a single 1 GiB stream moves ±30 % on a shared machine) */
    streams: { type: 'string', default: '3' },
    conns: { type: 'string', default: '2000' },
    idle: { type: 'string', default: '1000' },
    transport: { type: 'string' },
    mux: { type: 'string', default: 'on' },
    /** the smoke test's run: every path measured once with tiny sizes; explicit flags still win */
    quick: { type: 'boolean', default: false },
  },
});

const QUICK: Partial<Record<'size-mib' | 'streams' | 'rounds' | 'conns' | 'idle', string>> = {
  'size-mib': '1',
  streams: '1',
  rounds: '20',
  conns: '10',
  idle: '10',
};
if (values.quick) {
  const given = new Set(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')[0]));
  for (const [k, v] of Object.entries(QUICK) as [keyof typeof QUICK, string][]) if (!given.has(k)) values[k] = v;
}

const bytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
const streams = Number(values.streams);
const conns = Number(values.conns);
const idleCount = Number(values.idle);

interface Variant {
  tcpMux: boolean;
  tls: boolean;
  protocol: 'tcp' | 'websocket' | 'wss';
}

/** Link options per variant: `default` is frp's defaults (TLS + yamux). */
const VARIANTS: Record<string, Variant> = {
  default: { tcpMux: true, tls: true, protocol: 'tcp' },
  'mux-plain': { tcpMux: true, tls: false, protocol: 'tcp' },
  plain: { tcpMux: false, tls: false, protocol: 'tcp' },
  'tls-nomux': { tcpMux: false, tls: true, protocol: 'tcp' },
};

const TRANSPORT_VARIANTS: Record<string, Omit<Variant, 'tcpMux'>> = {
  tcp: { tls: false, protocol: 'tcp' },
  tls: { tls: true, protocol: 'tcp' },
  websocket: { tls: false, protocol: 'websocket' },
  wss: { tls: true, protocol: 'wss' },
};

if (values.transport !== undefined) {
  for (const name of Object.keys(VARIANTS)) delete VARIANTS[name];
  for (const kind of values.transport.split(',')) {
    const t = TRANSPORT_VARIANTS[kind];
    if (!t) throw new Error(`unknown transport ${kind}; known: ${Object.keys(TRANSPORT_VARIANTS).join(', ')}`);
    VARIANTS[kind] = { ...t, tcpMux: values.mux !== 'off' };
  }
  values.variants = values.transport;
}

interface Figures {
  /** median of the streams */
  throughputMBps: number;
  throughputRunsMBps: number[];
  /** CPU seconds the relay processes (server + client, or the two bare relays) spent per GiB streamed */
  relayCpuSecPerGiB?: number;
  latencyUs: { p50: number; p99: number };
  connectionsPerSec: number;
  /**
   * RSS the path's own processes grow by per idle connection, counted over a
   * second batch of `idle` connections so that one-time growth (the young
   * generation widening, pools filling) is left out (none for services inside
   * the generator)
   */
  idleKiBPerConn?: number;
  /** RSS of the path's own processes with `idle` idle connections open */
  rssMiBWithIdle?: number;
}

/** One way from the generator to the services, open for the whole run. */
interface Path {
  name: string;
  echoPort: number;
  sinkPort: number;
  /** processes in the path (their CPU is counted while streaming) */
  relayPids: number[];
  /**
   * processes whose memory growth is the path's cost per idle connection:
   * server + client for a tunnel (the generator and the services pay the same
   * on every path), the service for the direct path
   */
  memoryPids: number[];
  extra?: Variant;
  stop(): Promise<void>;
}

/**
 * Paths are measured in turns, each metric in several slices that go round
 * all paths, so a slow minute on the shared machine falls on every path
 * rather than on the one that happened to run then.
 */
const SLICES = values.quick ? 1 : 10;

async function measureAll(paths: Path[]): Promise<Map<Path, Figures>> {
  // Memory first, while every process is fresh: a process that already had
  // connections reuses their freed memory and would look cheaper.
  const idle = new Map<Path, { perConn: number; mib: number }>();
  for (const p of paths) {
    if (p.memoryPids.length === 0) continue;
    const rss = (): number => p.memoryPids.reduce((n, pid) => n + rssKiB(pid), 0);
    const first: Socket[] = await openIdle(p.echoPort, idleCount);
    const withIdle = rss();
    const second: Socket[] = await openIdle(p.echoPort, idleCount);
    const perConn = (rss() - withIdle) / idleCount;
    for (const s of [...first, ...second]) s.destroy();
    idle.set(p, { perConn: round(perConn, 2), mib: round(withIdle / 1024, 1) });
  }

  const runs = new Map(paths.map((p) => [p, [] as number[]]));
  const cpu = new Map(paths.map((p) => [p, 0]));
  const cpuOf = (p: Path): number => p.relayPids.reduce((n, pid) => n + cpuMs(pid), 0);
  // A short stream first, so that no path is measured with cold code or cold socket buffers.
  for (const p of paths) await throughput(p.sinkPort, Math.min(bytes, 64 * 2 ** 20));
  for (let i = 0; i < streams; i++) {
    for (const p of paths) {
      const before = cpuOf(p);
      runs.get(p)!.push(round(await throughput(p.sinkPort, bytes), 1));
      cpu.set(p, cpu.get(p)! + cpuOf(p) - before);
    }
  }

  const echoes = new Map<Path, Socket>();
  const samples = new Map(paths.map((p) => [p, [] as number[]]));
  for (const p of paths) {
    const s = await dial(p.echoPort);
    await echoRounds(s, 200);
    echoes.set(p, s);
  }
  for (let slice = 0; slice < SLICES; slice++) {
    for (const p of paths) samples.get(p)!.push(...(await echoRounds(echoes.get(p)!, Math.ceil(rounds / SLICES))));
  }
  for (const s of echoes.values()) s.destroy();

  const connectSeconds = new Map(paths.map((p) => [p, 0]));
  const perSlice = Math.ceil(conns / SLICES);
  for (let slice = 0; slice < SLICES; slice++) {
    for (const p of paths) connectSeconds.set(p, connectSeconds.get(p)! + perSlice / (await connectionsPerSecond(p.echoPort, perSlice, 20)));
  }

  const figures = new Map<Path, Figures>();
  for (const p of paths) {
    const r = runs.get(p)!;
    figures.set(p, {
      throughputMBps: [...r].sort((a, b) => a - b)[Math.floor(r.length / 2)]!,
      throughputRunsMBps: r,
      ...(p.relayPids.length > 0 ? { relayCpuSecPerGiB: round(cpu.get(p)! / 1000 / ((streams * bytes) / 2 ** 30), 2) } : {}),
      latencyUs: percentiles(samples.get(p)!),
      connectionsPerSec: round((perSlice * SLICES) / connectSeconds.get(p)!, 0),
      ...(idle.has(p) ? { idleKiBPerConn: idle.get(p)!.perConn, rssMiBWithIdle: idle.get(p)!.mib } : {}),
    });
  }
  return figures;
}

async function openVariant(name: string, echoPort: number, sinkPort: number): Promise<Path> {
  const v = VARIANTS[name];
  if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const nodeFlags = values['node-flags']!.split(/\s+/).filter((f) => f !== '');
  const tunnel = await startTunnel({
    serverNodeFlags: nodeFlags,
    clientNodeFlags: nodeFlags,
    serverLines: [`transport.tcpMux = ${v.tcpMux}`],
    clientLines: [
      `transport.tcpMux = ${v.tcpMux}`,
      `transport.tls.enable = ${v.tls}`,
      `transport.poolCount = 5`,
      `transport.protocol = "${v.protocol}"`,
      `[[proxies]]`,
      `name = "echo"`,
      `localPort = ${echoPort}`,
      `[[proxies]]`,
      `name = "sink"`,
      `localPort = ${sinkPort}`,
    ],
    ready: /\[(?:echo|sink)\] start proxy success[\s\S]*\[(?:echo|sink)\] start proxy success type=tcp remote=[\d.]+:\d+/,
  });
  const ports = Object.fromEntries(
    [...tunnel.client.match[0].matchAll(/\[(\w+)\] start proxy success type=tcp remote=[\d.]+:(\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
  return {
    name,
    echoPort: ports.echo!,
    sinkPort: ports.sink!,
    relayPids: [tunnel.server.child.pid!, tunnel.client.child.pid!],
    memoryPids: [tunnel.server.child.pid!, tunnel.client.child.pid!],
    extra: v,
    stop: () => tunnel.stop(),
  };
}

async function main(): Promise<void> {
  const paths: Path[] = [];
  try {
    const echo = echoServer();
    const sink = sinkServer();
    paths.push({
      name: 'directInProcess',
      echoPort: await listen(echo),
      sinkPort: await listen(sink),
      relayPids: [],
      memoryPids: [],
      stop: async () => {
        echo.close();
        sink.close();
      },
    });
    const services = await spawnUntil(process.execPath, [join(import.meta.dirname, 'services.mjs')], /services echo=(\d+) sink=(\d+)/);
    const servicePids = [services.child.pid!];
    const echoPort = Number(services.match[1]);
    const sinkPort = Number(services.match[2]);
    paths.push({ name: 'direct', echoPort, sinkPort, relayPids: [], memoryPids: servicePids, stop: () => stop(services.child) });
    const variants = values.variants!.split(',');
    if (values.floor) {
      // The TLS floor only when some variant has TLS to be compared with it.
      const withTls = variants.some((name) => VARIANTS[name]?.tls === true);
      for (const tls of withTls ? [false, true] : [false]) {
        const relays = await startBareRelays([echoPort, sinkPort], { tls });
        paths.push({
          name: tls ? 'floorTls' : 'floor',
          echoPort: relays.ports[0]!,
          sinkPort: relays.ports[1]!,
          relayPids: relays.pids,
          memoryPids: relays.pids,
          stop: () => relays.stop(),
        });
      }
    }
    for (const name of variants) paths.push(await openVariant(name, echoPort, sinkPort));

    const figures = await measureAll(paths);
    const of = (name: string): Figures | undefined => figures.get(paths.find((p) => p.name === name)!);
    const direct = of('direct')!;
    const floor = of('floor');
    const floorTls = of('floorTls');
    const results: Record<string, unknown> = {
      machine: { node: process.versions.node, cpus: (await import('node:os')).cpus().length },
      params: { streamMiB: bytes / 1024 / 1024, streams, latencyRounds: rounds, connections: conns, idleConnections: idleCount, slices: SLICES },
    };
    for (const p of paths) {
      const f = figures.get(p)!;
      results[p.name] =
        p.name === 'direct'
          ? f
          : {
              ...p.extra,
              ...f,
              ratioToDirect: ratios(f, direct),
              ...(floor && p.extra ? { ratioToFloor: ratios(f, p.extra.tls && floorTls ? floorTls : floor) } : {}),
            };
    }
    console.log(JSON.stringify(results, null, 2));
  } finally {
    // Tunnels first, the services they reach last.
    for (const p of [...paths].reverse()) await p.stop();
  }
  process.exit(0);
}

function ratios(f: Figures, base: Figures): Record<string, number> {
  return {
    throughput: round(f.throughputMBps / base.throughputMBps, 3),
    latencyP50: round(f.latencyUs.p50 / base.latencyUs.p50, 2),
    latencyP99: round(f.latencyUs.p99 / base.latencyUs.p99, 2),
    connectionsPerSec: round(f.connectionsPerSec / base.connectionsPerSec, 3),
    ...(f.idleKiBPerConn !== undefined && base.idleKiBPerConn !== undefined ? { idleMemory: round(f.idleKiBPerConn / base.idleKiBPerConn, 2) } : {}),
    ...(f.relayCpuSecPerGiB !== undefined && base.relayCpuSecPerGiB !== undefined ? { relayCpu: round(f.relayCpuSecPerGiB / base.relayCpuSecPerGiB, 2) } : {}),
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
