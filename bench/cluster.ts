/**
 * What one extra hop costs in a cluster (issue 22): a Redis (Debian's
 * redis-server), two `burrow server` processes on 127.0.0.2 (A) and
 * 127.0.0.3 (B) with the same tcp port, and one `burrow client` logged in
 * to A with a tcp proxy to an echo service. A user landing on A is served
 * directly; one landing on B is relayed over the internal link to A. Prints
 * JSON: for each, new connections per second (connect, one byte echoed,
 * close; `--concurrency` at a time) with the p50/p99 of one such connection,
 * and the p50/p99 of 64-byte round trips on an open connection; then the
 * ratios B/A.
 *
 *   npm run bench:cluster -- [--connections 3000] [--concurrency 16] [--rounds 2000] [--link-tls]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { BURROW_BIN, echoRounds, echoServer, freePort, listen, percentiles, round, spawnUntil, stop, tempFile } from './lib.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2000' },
    'link-tls': { type: 'boolean', default: false },
  },
});
const total = Math.max(10, Math.min(1_000_000, Number(values.connections)));
const concurrency = Math.max(1, Math.min(1024, Number(values.concurrency)));
const rounds = Math.max(10, Math.min(1_000_000, Number(values.rounds)));

function dialAt(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One connection: connect, one byte echoed, close; its time in microseconds. */
async function oneConnection(host: string, port: number): Promise<number> {
  const t = process.hrtime.bigint();
  const s = await dialAt(host, port);
  s.write('x');
  await once(s, 'data');
  const us = Number(process.hrtime.bigint() - t) / 1000;
  s.destroy();
  await once(s, 'close');
  return us;
}

async function connectionRun(host: string, port: number): Promise<{ connPerSec: number; connP50us: number; connP99us: number }> {
  const samples: number[] = [];
  let started = 0;
  const begin = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        samples.push(await oneConnection(host, port));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  const p = percentiles(samples);
  return { connPerSec: round(total / seconds, 0), connP50us: p.p50, connP99us: p.p99 };
}

async function roundTrips(host: string, port: number): Promise<{ rttP50us: number; rttP99us: number }> {
  const s = await dialAt(host, port);
  await echoRounds(s, 200);
  const p = percentiles(await echoRounds(s, rounds));
  s.destroy();
  return { rttP50us: p.p50, rttP99us: p.p99 };
}

/** Retries until host:port echoes (B opens its mirror of A's port at its next refresh of the cluster table). */
async function untilServed(host: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await oneConnection(host, port);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${host}:${port} never answered`);
}

async function main(): Promise<void> {
  const echo = echoServer();
  const echoPort = await listen(echo);
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const children = [redis];
  try {
    const tcpPort = await freePort();
    const nodeFile = (name: string, host: string): string =>
      tempFile(
        `${name}.toml`,
        [
          `bindAddr = "${host}"`,
          'bindPort = 0',
          `proxyBindAddr = "${host}"`,
          'auth.token = "bench"',
          `cluster.redis = "redis://127.0.0.1:${redisPort}"`,
          `cluster.nodeName = "${name}"`,
          'cluster.secret = "bench-cluster-secret"',
          'cluster.linkPort = 0',
          `cluster.tls = ${values['link-tls'] ? 'true' : 'false'}`,
          '',
        ].join('\n'),
      );
    const a = await spawnUntil(process.execPath, [BURROW_BIN, 'server', '-c', nodeFile('a', '127.0.0.2')], /server listening addr=127\.0\.0\.2:(\d+)/);
    children.push(a.child);
    const b = await spawnUntil(process.execPath, [BURROW_BIN, 'server', '-c', nodeFile('b', '127.0.0.3')], /server listening addr=127\.0\.0\.3:(\d+)/);
    children.push(b.child);
    const clientFile = tempFile(
      'frpc.toml',
      [
        'serverAddr = "127.0.0.2"',
        `serverPort = ${a.match[1]}`,
        'auth.token = "bench"',
        '[[proxies]]',
        'name = "echo"',
        'type = "tcp"',
        'localIP = "127.0.0.1"',
        `localPort = ${echoPort}`,
        `remotePort = ${tcpPort}`,
        '',
      ].join('\n'),
    );
    const client = await spawnUntil(process.execPath, [BURROW_BIN, 'client', '-c', clientFile], /\[echo\] start proxy success/);
    children.push(client.child);
    await untilServed('127.0.0.2', tcpPort);
    await untilServed('127.0.0.3', tcpPort);

    const owner = { ...(await connectionRun('127.0.0.2', tcpPort)), ...(await roundTrips('127.0.0.2', tcpPort)) };
    const relayed = { ...(await connectionRun('127.0.0.3', tcpPort)), ...(await roundTrips('127.0.0.3', tcpPort)) };
    const ratio = (k: keyof typeof owner): number => round(relayed[k] / owner[k], 2);
    console.log(
      JSON.stringify(
        {
          bench: 'cluster',
          date: new Date().toISOString(),
          linkTls: values['link-tls'],
          connections: total,
          concurrency,
          rounds,
          owner,
          nonOwner: relayed,
          nonOwnerVsOwner: { connPerSec: ratio('connPerSec'), connP99us: ratio('connP99us'), rttP99us: ratio('rttP99us') },
          addedP99us: { connection: round(relayed.connP99us - owner.connP99us, 1), roundTrip: round(relayed.rttP99us - owner.rttP99us, 1) },
        },
        null,
        2,
      ),
    );
  } finally {
    for (const c of children.reverse()) await stop(c);
    echo.close();
  }
}

await main();
