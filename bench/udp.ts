/**
 * udp tunnel vs the direct path on loopback. Spawns the real CLI (dist/) as
 * two processes, `burrow server` and `burrow client` with one udp proxy to an
 * echo service in this process, offers datagrams at a fixed rate from several
 * sockets and counts the echoes. Prints JSON: delivered datagrams/s, loss and
 * echo RTT p50/p99 at a low rate, for the direct path and each variant, with
 * ratios to direct.
 *
 *   npm run bench:udp -- [--rate 10000] [--size 512] [--seconds 3] [--senders 4] [--variants default,plain]
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { cpuMs, percentiles, round, startTunnel } from './lib.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    size: { type: 'string', default: '512' },
    seconds: { type: 'string', default: '3' },
    senders: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2000' },
    variants: { type: 'string', default: 'default,plain' },
  },
});

const rate = Number(values.rate);
const size = Number(values.size);
const seconds = Number(values.seconds);
const senders = Number(values.senders);
const rounds = Number(values.rounds);

const VARIANTS: Record<string, { tcpMux: boolean; tls: boolean; useEncryption: boolean }> = {
  default: { tcpMux: true, tls: true, useEncryption: false },
  plain: { tcpMux: false, tls: false, useEncryption: false },
  encrypted: { tcpMux: true, tls: true, useEncryption: true },
};

interface Figures {
  offeredPerSec: number;
  deliveredPerSec: number;
  loss: number;
  rttUs: { p50: number; p99: number };
  /** CPU time of the burrow server and client processes per datagram offered (both ways); 0 for direct */
  tunnelCpuUsPerDatagram: number;
}

/**
 * Every socket of the bench (senders and the echo service) asks for 4 MiB of receive buffer, the
 * same for the direct path and the tunnels: the figures then show the tunnel, not how soon a
 * default 208 KiB buffer overflows while this one process is busy generating load.
 */
async function udpSocket(): Promise<Socket> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function echoService(): Promise<Socket> {
  const s = await udpSocket();
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  return s;
}

/** Offers `rate` datagrams/s spread over the senders for `seconds`, then waits 500 ms for stragglers. */
async function offered(port: number): Promise<{ sent: number; received: number; ms: number }> {
  const sockets = await Promise.all(Array.from({ length: senders }, udpSocket));
  let received = 0;
  for (const s of sockets) s.on('message', () => received++);
  const payload = Buffer.alloc(size, 0x75);
  const total = Math.round(rate * seconds);
  let sent = 0;
  const start = process.hrtime.bigint();
  // Catch up to the schedule on every turn of the event loop, so replies are read in between.
  while (sent < total) {
    const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate));
    for (; sent < due; sent++) sockets[sent % senders]!.send(payload, port, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await new Promise((r) => setTimeout(r, 500));
  for (const s of sockets) s.close();
  return { sent, received, ms };
}

/** Sequential echo round trips of 64 bytes; microseconds. */
async function rtt(port: number): Promise<{ p50: number; p99: number }> {
  const s = await udpSocket();
  const samples: number[] = [];
  const msg = Buffer.alloc(64, 0x72);
  for (let i = 0; i < rounds + 100; i++) {
    const t = process.hrtime.bigint();
    s.send(msg, port, '127.0.0.1');
    const got = await Promise.race([once(s, 'message'), new Promise((r) => setTimeout(() => r(undefined), 1000))]);
    if (got && i >= 100) samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  s.close();
  return percentiles(samples);
}

async function measure(port: number, pids: number[]): Promise<Figures> {
  const r = await rtt(port);
  const cpuBefore = pids.reduce((n, p) => n + cpuMs(p), 0);
  const o = await offered(port);
  const cpu = pids.reduce((n, p) => n + cpuMs(p), 0) - cpuBefore;
  return {
    offeredPerSec: round(o.sent / (o.ms / 1000), 0),
    deliveredPerSec: round(o.received / (o.ms / 1000), 0),
    loss: round(1 - o.received / o.sent, 4),
    rttUs: r,
    tunnelCpuUsPerDatagram: round((cpu * 1000) / o.sent, 1),
  };
}

async function main(): Promise<void> {
  const echo = await echoService();
  const echoPort = echo.address().port;
  const direct = await measure(echoPort, []);
  const results: Record<string, unknown> = {
    machine: { node: process.versions.node, cpus: (await import('node:os')).cpus().length },
    params: { offeredRatePerSec: rate, datagramBytes: size, seconds, senders, rttRounds: rounds },
    direct,
  };
  for (const name of values.variants!.split(',')) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    const tunnel = await startTunnel({
      serverLines: [`transport.tcpMux = ${v.tcpMux}`],
      clientLines: [
        `transport.tcpMux = ${v.tcpMux}`,
        `transport.tls.enable = ${v.tls}`,
        `[[proxies]]`,
        `name = "echo"`,
        `type = "udp"`,
        `localPort = ${echoPort}`,
        `transport.useEncryption = ${v.useEncryption}`,
      ],
      ready: /\[echo\] start proxy success type=udp remote=[\d.]+:(\d+)/,
    });
    const { server, client } = tunnel;
    try {
      const f = await measure(Number(client.match[1]), [server.child.pid!, client.child.pid!]);
      results[name] = {
        ...v,
        ...f,
        ratioToDirect: {
          deliveredPerSec: round(f.deliveredPerSec / direct.deliveredPerSec, 3),
          rttP50: round(f.rttUs.p50 / direct.rttUs.p50, 2),
          rttP99: round(f.rttUs.p99 / direct.rttUs.p99, 2),
        },
      };
    } finally {
      await tunnel.stop();
    }
  }
  echo.close();
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
