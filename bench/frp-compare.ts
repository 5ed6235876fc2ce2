/**
 * burrow next to frp, by the shared kit's method (`tunbench.mjs`, iperf3):
 * one process tree runs an echo service and `iperf3 -s`, measures the direct
 * path, then `burrow server` + `burrow client` with frp's defaults (TLS on,
 * tcpMux on) and two tcp proxies (echo, iperf3). Each path: iperf3 4 s,
 * 10000 echo round trips (p50/p99/p99.9), connections/s for 3 s with 16 at
 * a time, then RSS (VmRSS, server + client) with 1000 idle connections opened
 * after the throughput run. Then a client alone with 10 idle tunnels (the
 * small-box figure). Prints JSON: each figure, its ratio to direct, and frp
 * 0.70.0's recorded figures and ratios from the same method.
 *
 * Wall-clock figures move with whatever else runs on the machine; CPU time
 * of the two burrow processes per connection and per echo round trip is
 * printed too, as it moves much less.
 *
 *   npm run bench:compare [-- --node-flags="--max-semi-space-size=2"] [--quick]
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMs, freePort, round, rssKiB, spawnUntil, startBareRelays, startTunnel, stop, type TunnelProcesses } from './lib.js';

const { values } = parseArgs({
  options: {
    'node-flags': { type: 'string', default: '' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '10000' },
    idle: { type: 'string', default: '1000' },
    'cps-seconds': { type: 'string', default: '3' },
    // Seconds after the idle connections are open before RSS is read again (what a box that stays idle holds).
    settle: { type: 'string', default: '3' },
    // A run that only proves every figure is still measured (the e2e test).
    quick: { type: 'boolean', default: false },
  },
});
if (values.quick) Object.assign(values, { seconds: '1', rounds: '300', idle: '40', 'cps-seconds': '1', settle: '1' });
for (const key of ['seconds', 'rounds', 'idle', 'cps-seconds', 'settle'] as const) {
  if (!(Number(values[key]) >= 0))
    throw new Error(
      `--${key} takes a number of ${key === 'rounds' || key === 'idle' ? 'rounds or connections' : 'seconds'}, got ${JSON.stringify(values[key])}`,
    );
}
const nodeFlags = values['node-flags']!.split(/\s+/).filter((f) => f !== '');
const TUNBENCH = join(import.meta.dirname, 'tunbench.mjs');

/** frp 0.70.0, same method, same kind of machine (2 cores), 2026-12-06, four runs (shared bench README). */
const FRP_0_70_0 = {
  date: '2026-12-06',
  direct: { throughputGbps: '23.4–24.0', connPerSec: 14200, rttP50Us: '11–65', rttP99Us: '66–119' },
  frp: { throughputGbps: '5.1–5.4', connPerSec: '3560–3680', rttP50Us: '198–212', rttP99Us: '357–443', rssMiB1000Idle: '144–150' },
  ratioToDirect: { throughput: 0.22, connPerSec: '0.25–0.26' },
  burrowThen: { throughputGbps: '7.3–7.6', connPerSec: '3170–3560', rttP50Us: '97–114', rttP99Us: '395–862', rssMiB1000Idle: '244–260' },
};

/** Runs `tunbench.mjs <args>` and returns its one JSON line. */
async function tunbench(args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [TUNBENCH, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`tunbench ${args.join(' ')} exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

const haveIperf = spawnSync('iperf3', ['--version'], { stdio: 'ignore' }).status === 0;

/** Gb/s received over `seconds` through `port`, or null without iperf3. */
async function iperf(port: number): Promise<number | null> {
  if (!haveIperf) return null;
  const r = spawnSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', values.seconds!, '-J'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`iperf3 -c failed: ${r.stdout}${r.stderr}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return round(j.end.sum_received.bits_per_second / 1e9, 2);
}

interface PathFigures {
  throughputGbps: number | null;
  rttP50Us: number;
  rttP99Us: number;
  rttP999Us: number;
  connPerSec: number;
  /** CPU of server + client per echo round trip and per connection (tunnel only). */
  cpuUsPerEcho?: number;
  cpuUsPerConn?: number;
  rssMiB1000Idle?: number;
  rssMiBBeforeIdle?: { server: number; client: number };
  rssMiBWithIdle?: { server: number; client: number };
  /** The same, `settle` seconds later, the idle connections still open. */
  rssMiB1000IdleSettled?: number;
}

async function measure(echoPort: number, iperfPort: number, pids: number[]): Promise<PathFigures> {
  const cpu = (): number => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const throughputGbps = await iperf(iperfPort);
  const rounds = Number(values.rounds);
  let c0 = cpu();
  const rtt = await tunbench(['rtt', '127.0.0.1', String(echoPort), String(rounds)]);
  const cpuEcho = cpu() - c0;
  c0 = cpu();
  const cps = await tunbench(['cps', '127.0.0.1', String(echoPort), values['cps-seconds']!, '16']);
  const cpuConn = cpu() - c0;
  const f: PathFigures = {
    throughputGbps,
    rttP50Us: rtt.rtt_p50_us!,
    rttP99Us: rtt.rtt_p99_us!,
    rttP999Us: rtt.rtt_p999_us!,
    connPerSec: cps.conn_per_s!,
  };
  if (pids.length === 0) return f;
  f.cpuUsPerEcho = round((cpuEcho * 1000) / rounds, 1);
  f.cpuUsPerConn = round((cpuConn * 1000) / Math.max(1, cps.ok!), 1);
  const mib = (pid: number): number => round(rssKiB(pid) / 1024, 1);
  f.rssMiBBeforeIdle = { server: mib(pids[0]!), client: mib(pids[1]!) };
  const idle = spawn(process.execPath, [TUNBENCH, 'idle', '127.0.0.1', String(echoPort), values.idle!], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(idle.stdout, 'data')) as [Buffer];
    const r = JSON.parse(line.toString()) as { ready: number; fail: number };
    if (r.fail > 0) throw new Error(`${r.fail} idle connections failed`);
    f.rssMiBWithIdle = { server: mib(pids[0]!), client: mib(pids[1]!) };
    f.rssMiB1000Idle = round(f.rssMiBWithIdle.server + f.rssMiBWithIdle.client, 1);
    await new Promise((resolve) => setTimeout(resolve, Number(values.settle) * 1000));
    f.rssMiB1000IdleSettled = round(mib(pids[0]!) + mib(pids[1]!), 1);
  } finally {
    idle.kill('SIGTERM');
    await once(idle, 'exit');
  }
  return f;
}

function tcpProxy(name: string, localPort: number, remotePort: number): string[] {
  return ['[[proxies]]', `name = "${name}"`, 'type = "tcp"', `localPort = ${localPort}`, `remotePort = ${remotePort}`];
}

async function burrowTunnel(proxies: string[][], names: string[]): Promise<TunnelProcesses> {
  // frp's defaults: nothing about TLS, tcpMux or the pool is written down.
  const wait = names.map((n) => `\\[${n}\\] start proxy success`);
  return startTunnel({
    serverNodeFlags: nodeFlags,
    clientNodeFlags: nodeFlags,
    serverLines: [],
    clientLines: proxies.flat(),
    // Proxies start in any order: wait until every name was logged.
    ready: new RegExp(`^${wait.map((w) => `(?=[\\s\\S]*${w})`).join('')}`),
  });
}

/** A client with `n` idle tcp tunnels: its RSS once every proxy started (the small-box figure). */
async function smallBox(echoPort: number, n: number): Promise<number> {
  const names = Array.from({ length: n }, (_, i) => `t${i}`);
  const proxies = await Promise.all(names.map(async (name) => tcpProxy(name, echoPort, await freePort())));
  const t = await burrowTunnel(proxies, names);
  try {
    return round(rssKiB(t.client.child.pid!) / 1024, 1);
  } finally {
    await t.stop();
  }
}

/**
 * Two bare `pipe()` relay processes in the tunnel's place (no TLS, no mux, a
 * new TCP connection per user connection between them): what two Node
 * processes on this machine manage before burrow adds anything.
 */
async function floor(echoPort: number): Promise<{ connPerSec: number; rttP99Us: number; cpuUsPerConn: number }> {
  const relays = await startBareRelays([echoPort]);
  try {
    const port = String(relays.ports[0]);
    const rtt = await tunbench(['rtt', '127.0.0.1', port, values.rounds!]);
    const c0 = relays.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const cps = await tunbench(['cps', '127.0.0.1', port, values['cps-seconds']!, '16']);
    const cpu = relays.pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - c0;
    return { connPerSec: cps.conn_per_s!, rttP99Us: rtt.rtt_p99_us!, cpuUsPerConn: round((cpu * 1000) / Math.max(1, cps.ok!), 1) };
  } finally {
    await relays.stop();
  }
}

async function main(): Promise<void> {
  const echoPort = await freePort();
  const echo = await spawnUntil(process.execPath, [TUNBENCH, 'echo', String(echoPort)], /"echo"/);
  let iperfServer: ReturnType<typeof spawn> | null = null;
  const iperfPort = await freePort();
  const notes: string[] = [];
  if (haveIperf) {
    iperfServer = (await spawnUntil('iperf3', ['-s', '-p', String(iperfPort), '--forceflush'], /Server listening/)).child;
  } else {
    notes.push('iperf3 not found: throughput skipped (Debian: apt-get install iperf3)');
  }
  try {
    const direct = await measure(echoPort, iperfPort, []);
    const echoRemote = await freePort();
    const iperfRemote = await freePort();
    const t = await burrowTunnel([tcpProxy('echo', echoPort, echoRemote), tcpProxy('iperf', iperfPort, iperfRemote)], ['echo', 'iperf']);
    let burrow: PathFigures;
    try {
      burrow = await measure(echoRemote, iperfRemote, [t.server.child.pid!, t.client.child.pid!]);
    } finally {
      await t.stop();
    }
    const clientRssMiB10Tunnels = await smallBox(echoPort, 10);
    const bare = await floor(echoPort);
    const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(a / b, 3));
    console.log(
      JSON.stringify(
        {
          machine: {
            node: process.versions.node,
            cpus: (await import('node:os')).cpus().length,
            loadavg: (await import('node:os')).loadavg().map((x) => round(x, 2)),
          },
          params: {
            iperfSeconds: Number(values.seconds),
            rttRounds: Number(values.rounds),
            cpsSeconds: Number(values['cps-seconds']),
            idleConnections: Number(values.idle),
          },
          notes,
          direct,
          floor: { ...bare, connPerSecRatioToDirect: ratio(bare.connPerSec, direct.connPerSec) },
          burrow: {
            ...burrow,
            clientRssMiB10Tunnels,
            ratioToDirect: {
              throughput: ratio(burrow.throughputGbps, direct.throughputGbps),
              connPerSec: ratio(burrow.connPerSec, direct.connPerSec),
              rttP50: ratio(burrow.rttP50Us, direct.rttP50Us),
              rttP99: ratio(burrow.rttP99Us, direct.rttP99Us),
              rttP999: ratio(burrow.rttP999Us, direct.rttP999Us),
            },
            connPerSecRatioToFloor: ratio(burrow.connPerSec, bare.connPerSec),
          },
          targets: { connPerSecRatio: 0.31, rttP99Us: 400, rssMiB1000Idle: 140, throughputRatio: 0.27, clientRssMiB10Tunnels: 60 },
          frp_0_70_0: FRP_0_70_0,
        },
        null,
        2,
      ),
    );
  } finally {
    if (iperfServer) await stop(iperfServer);
    await stop(echo.child);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
