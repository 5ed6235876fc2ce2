/**
 * tcp tunnel vs the direct path on loopback. Spawns the real CLI (dist/) as two
 * processes, `burrow server` and `burrow client`, like a user runs them, and
 * prints JSON: throughput, echo latency p50/p99, connections/s and RSS per idle
 * tunnelled connection, each with its ratio to the direct path.
 *
 *   npm run bench -- [--size-mib 1024] [--variants default,mux-plain,plain] [--rounds 5000] [--no-floor]
 *                    [--node-flags=--initial-old-space-size=64]
 *   npm run bench -- --transport tcp,tls,websocket,wss [--mux off]
 *
 * --transport replaces --variants with one run per transport kind (tcpMux on
 * unless --mux off): tcp (plain), tls (tcp + TLS), websocket (no TLS inside),
 * wss (TLS, then websocket).
 *
 * `floor` (on unless --no-floor) runs the same measurements through two bare
 * `pipe()` relay processes in the tunnel's place (bench/bare-relay.mjs): what
 * any two-process Node relay gets on this machine. Each tunnel variant is
 * also given as a ratio to it, which separates burrow's own cost from the
 * machine's (on 2 cores, four busy processes share them).
 */
import { parseArgs } from 'node:util';
import type { Socket } from 'node:net';
import {
  connectionsPerSecond, echoServer, latency, listen, openIdle, round, rssKiB, sinkServer, startBareRelays, startTunnel, throughput,
} from './lib.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    variants: { type: 'string', default: 'default,mux-plain,plain' },
    floor: { type: 'boolean', default: true },
    /** extra Node flags for burrow server and client, e.g. --node-flags=--initial-old-space-size=64 */
    'node-flags': { type: 'string', default: '' },
    rounds: { type: 'string', default: '5000' },
    conns: { type: 'string', default: '2000' },
    idle: { type: 'string', default: '1000' },
    transport: { type: 'string' },
    mux: { type: 'string', default: 'on' },
  },
});

const bytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
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
  throughputMBps: number;
  latencyUs: { p50: number; p99: number };
  connectionsPerSec: number;
  idleKiBPerConn: number;
}

async function measure(echoPort: number, sinkPort: number, pids: number[]): Promise<Figures> {
  const throughputMBps = await throughput(sinkPort, bytes);
  const latencyUs = await latency(echoPort, rounds);
  const connectionsPerSec = await connectionsPerSecond(echoPort, conns, 20);
  const before = [process.pid, ...pids].reduce((n, p) => n + rssKiB(p), 0);
  const sockets: Socket[] = await openIdle(echoPort, idleCount);
  const after = [process.pid, ...pids].reduce((n, p) => n + rssKiB(p), 0);
  for (const s of sockets) s.destroy();
  return {
    throughputMBps: round(throughputMBps, 1),
    latencyUs,
    connectionsPerSec: round(connectionsPerSec, 0),
    idleKiBPerConn: round((after - before) / idleCount, 2),
  };
}

async function main(): Promise<void> {
  const echo = echoServer();
  const sink = sinkServer();
  const echoPort = await listen(echo);
  const sinkPort = await listen(sink);
  const direct = await measure(echoPort, sinkPort, []);
  const results: Record<string, unknown> = {
    machine: { node: process.versions.node, cpus: (await import('node:os')).cpus().length },
    params: { streamMiB: bytes / 1024 / 1024, latencyRounds: rounds, connections: conns, idleConnections: idleCount },
    direct,
  };
  const ratios = (f: Figures, base: Figures): Record<string, number> => ({
    throughput: round(f.throughputMBps / base.throughputMBps, 3),
    latencyP50: round(f.latencyUs.p50 / base.latencyUs.p50, 2),
    latencyP99: round(f.latencyUs.p99 / base.latencyUs.p99, 2),
    connectionsPerSec: round(f.connectionsPerSec / base.connectionsPerSec, 3),
    idleMemory: round(f.idleKiBPerConn / base.idleKiBPerConn, 2),
  });
  let floor: Figures | undefined;
  if (values.floor) {
    const relays = await startBareRelays([echoPort, sinkPort]);
    try {
      floor = await measure(relays.ports[0]!, relays.ports[1]!, relays.pids);
      results.floor = { ...floor, ratioToDirect: ratios(floor, direct) };
    } finally {
      await relays.stop();
    }
  }
  for (const name of values.variants!.split(',')) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    const nodeFlags = values['node-flags']!.split(/\s+/).filter((f) => f !== '');
    const tunnel = await startTunnel({
      serverNodeFlags: nodeFlags,
      clientNodeFlags: nodeFlags,
      serverLines: [`transport.tcpMux = ${v.tcpMux}`],
      clientLines: [
        `transport.tcpMux = ${v.tcpMux}`, `transport.tls.enable = ${v.tls}`, `transport.poolCount = 5`,
        `transport.protocol = "${v.protocol}"`,
        `[[proxies]]`, `name = "echo"`, `localPort = ${echoPort}`,
        `[[proxies]]`, `name = "sink"`, `localPort = ${sinkPort}`,
      ],
      ready: /✓ (?:echo|sink)[\s\S]*✓ (?:echo|sink) {2}tcp {2}[\d.]+:\d+/,
    });
    const { server, client } = tunnel;
    const ports = Object.fromEntries([...client.match[0].matchAll(/✓ (\w+) {2}tcp {2}[\d.]+:(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    try {
      const f = await measure(ports.echo!, ports.sink!, [server.child.pid!, client.child.pid!]);
      results[name] = {
        ...v,
        ...f,
        ratioToDirect: ratios(f, direct),
        ...(floor ? { ratioToFloor: ratios(f, floor) } : {}),
      };
    } finally {
      await tunnel.stop();
    }
  }
  echo.close();
  sink.close();
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
