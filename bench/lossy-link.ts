/**
 * tcp vs kcp over a slow, lossy link, in one process on loopback. The tunnel
 * leg goes through a relay in this process: for kcp a UDP relay that drops a
 * share of datagrams (seeded, so runs repeat) and delays each by delay ± jitter
 * (so some arrive out of order); for tcp a TCP relay with the same delay per
 * chunk, in order. Loss cannot be put on a TCP connection from userland (it
 * needs the kernel's netem, which this machine's kernel lacks), so the tcp
 * rows show tcp's cost of the delay alone: its loss figures would only be worse.
 * For each setting and transport: throughput of one stream through a tcp
 * proxy and p50/p99 of 64-byte echo round trips, as JSON, with the CPU seconds
 * the process spent on it (both tunnel ends and the relay) and, for kcp, the
 * segments its sessions sent again (by timeout, early) and FEC recovered.
 *
 *   node --import tsx bench/lossy-link.ts [--size-mib 4] [--rounds 200] [--settings 0,1,5] [--delay-ms 20] [--jitter-ms 5]
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { BurrowClient } from '../src/client/client.js';
import { buildClientConfig, buildServerConfig } from '../src/config/load.js';
import { BurrowServer } from '../src/server/server.js';
import { kcpTotals } from '../src/transport/kcp/kcp-session.js';
import { echoServer, latency, listen, round, sinkServer, throughput } from './lib.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '4' },
    rounds: { type: 'string', default: '200' },
    settings: { type: 'string', default: '0,1,5' },
    'delay-ms': { type: 'string', default: '20' },
    'jitter-ms': { type: 'string', default: '5' },
  },
});
const DELAY = Number(values['delay-ms']);
const JITTER = Number(values['jitter-ms']);
const TOKEN = 'bench';

let seed = 42;
function random(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}
const delay = (): number => Math.max(0, DELAY + (random() * 2 - 1) * JITTER);

interface Relay {
  port: number;
  close(): void;
}

/** UDP: one client, datagrams dropped with `lossPct` % and each delayed on its own (reordering). */
async function udpRelay(target: number, lossPct: number): Promise<Relay> {
  const big = { type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } as const;
  const front = dgram.createSocket(big);
  const back = dgram.createSocket(big);
  front.bind(0, '127.0.0.1');
  back.bind(0, '127.0.0.1');
  await Promise.all([once(front, 'listening'), once(back, 'listening')]);
  let client: { address: string; port: number } | undefined;
  let closed = false;
  const pass = (send: () => void): void => {
    if (random() * 100 < lossPct) return;
    setTimeout(() => {
      if (!closed) send();
    }, delay());
  };
  front.on('message', (m, r) => {
    client ??= { address: r.address, port: r.port };
    pass(() => back.send(m, target, '127.0.0.1'));
  });
  back.on('message', (m) => {
    const c = client;
    if (c) pass(() => front.send(m, c.port, c.address));
  });
  return {
    port: front.address().port,
    close() {
      closed = true;
      front.close();
      back.close();
    },
  };
}

/** TCP: each chunk delayed, in order (a TCP stream cannot reorder). */
async function tcpRelay(target: number): Promise<Relay> {
  // One queue per direction, drained in order: separate timers per chunk could fire out of order.
  const forward = (from: Socket, to: Socket): void => {
    const queue: { at: number; chunk: Buffer | null }[] = [];
    let scheduled = false;
    const drain = (): void => {
      scheduled = false;
      while (queue.length > 0 && (queue[0]?.at ?? 0) <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer | null };
        if (chunk) to.write(chunk);
        else to.end();
      }
      if (queue.length > 0) {
        scheduled = true;
        setTimeout(drain, Math.max(1, (queue[0]?.at ?? 0) - Date.now()));
      }
    };
    const push = (chunk: Buffer | null): void => {
      queue.push({ at: Math.max(queue[queue.length - 1]?.at ?? 0, Date.now() + delay()), chunk });
      if (scheduled) return;
      scheduled = true;
      setTimeout(drain, Math.max(1, (queue[0]?.at ?? 0) - Date.now()));
    };
    from.on('data', (c: Buffer) => push(c));
    from.on('end', () => push(null));
    from.on('error', () => to.destroy());
  };
  const server: Server = createServer({ allowHalfOpen: true }, (a) => {
    const b = connect({ host: '127.0.0.1', port: target, allowHalfOpen: true });
    forward(a, b);
    forward(b, a);
  });
  const port = await listen(server);
  return { port, close: () => server.close() };
}

async function measure(protocol: 'tcp' | 'kcp', lossPct: number, echoPort: number, sinkPort: number): Promise<Record<string, number>> {
  const cpuBefore = process.cpuUsage();
  const totalsBefore = { ...kcpTotals };
  const server = new BurrowServer(buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0, kcpBindPort: await freeUdpPort(), auth: { token: TOKEN } }));
  await server.start();
  const relay = protocol === 'kcp' ? await udpRelay(server.kcpPort, lossPct) : await tcpRelay(server.port);
  const client = new BurrowClient(
    buildClientConfig({
      serverAddr: '127.0.0.1',
      serverPort: relay.port,
      auth: { token: TOKEN },
      transport: { protocol, tls: { enable: false } },
      proxies: [
        { name: 'echo', type: 'tcp', localIP: '127.0.0.1', localPort: echoPort, remotePort: 0 },
        { name: 'sink', type: 'tcp', localIP: '127.0.0.1', localPort: sinkPort, remotePort: 0 },
      ],
    }),
  );
  try {
    await client.start();
    const remote = async (name: string): Promise<number> => {
      const addr = (await client.waitForProxy(name)).remoteAddr;
      return Number(addr.slice(addr.lastIndexOf(':') + 1));
    };
    const sinkRemote = await remote('sink');
    const echoRemote = await remote('echo');
    const mbps = await throughput(sinkRemote, Number(values['size-mib']) * 1024 * 1024);
    const lat = await latency(echoRemote, Number(values.rounds));
    return { MBps: round(mbps), echoP50ms: round(lat.p50 / 1000, 1), echoP99ms: round(lat.p99 / 1000, 1) };
  } finally {
    client.stop();
    await server.stop();
    relay.close();
    const cpu = process.cpuUsage(cpuBefore);
    console.error(
      JSON.stringify({
        protocol,
        lossPct,
        cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
        ...(protocol === 'kcp'
          ? {
              resentByTimeout: kcpTotals.resentByTimeout - totalsBefore.resentByTimeout,
              resentEarly: kcpTotals.resentEarly - totalsBefore.resentEarly,
              fecRecovered: kcpTotals.recovered - totalsBefore.recovered,
            }
          : {}),
      }),
    );
  }
}

async function freeUdpPort(): Promise<number> {
  const probe = dgram.createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  const p = probe.address().port;
  probe.close();
  return p;
}

const echo = echoServer();
const sink = sinkServer();
const echoPort = await listen(echo);
const sinkPort = await listen(sink);
const results: Record<string, unknown>[] = [];
try {
  for (const loss of values.settings.split(',').map(Number)) {
    const row: Record<string, unknown> = { lossPct: loss, delayMs: DELAY, jitterMs: JITTER };
    // tcp cannot be given loss from userland: measured once, at the delay alone.
    if (loss === 0) row.tcp = await measure('tcp', 0, echoPort, sinkPort);
    row.kcp = await measure('kcp', loss, echoPort, sinkPort);
    results.push(row);
    console.error(JSON.stringify(row));
  }
} finally {
  echo.close();
  sink.close();
}
console.log(JSON.stringify({ bench: 'lossy-link', date: new Date().toISOString().slice(0, 10), sizeMiB: Number(values['size-mib']), results }, null, 2));
process.exit(0);
