import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/**
 * `npm run bench` is how the tunnel's cost is reported, so it must keep
 * running end to end: a quick run (tiny sizes, one slice) through every
 * kind of path, checked for the figures each path must carry. No figure is
 * compared with a threshold; only that each was measured.
 */
const BENCH = join(import.meta.dirname, '..', '..', 'bench', 'tcp.ts');

/** Runs a bench script to its end and returns the JSON it printed; a non-zero exit fails with its stderr. */
async function runBench(script: string, args: string[]): Promise<Record<string, Record<string, unknown>>> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, err);
  return JSON.parse(out) as Record<string, Record<string, unknown>>;
}

test('bench/tcp measures the direct path, the floor and tunnels, and prints ratios', async () => {
  const results = await runBench(BENCH, ['--quick', '--variants', 'default,plain']);

  for (const name of ['directInProcess', 'direct', 'floor', 'default', 'plain']) {
    const f = results[name];
    assert.ok(f, `no figures for ${name}`);
    assert.ok((f.throughputMBps as number) > 0, `${name} throughput`);
    const lat = f.latencyUs as { p50: number; p99: number };
    assert.ok(lat.p50 > 0 && lat.p99 >= lat.p50, `${name} latency ${JSON.stringify(lat)}`);
    assert.ok((f.connectionsPerSec as number) > 0, `${name} connections/s`);
  }
  // Memory is counted on the processes of each path (not for services inside the generator).
  assert.equal(results.directInProcess!.rssMiBWithIdle, undefined);
  for (const name of ['direct', 'floor', 'default', 'plain']) assert.ok((results[name]!.rssMiBWithIdle as number) > 0, `${name} RSS`);
  for (const name of ['floor', 'default', 'plain']) {
    assert.ok((results[name]!.relayCpuSecPerGiB as number) >= 0, `${name} relay CPU`);
    const ratio = results[name]!.ratioToDirect as Record<string, number>;
    assert.equal(ratio.throughput, Math.round(((results[name]!.throughputMBps as number) / (results.direct!.throughputMBps as number)) * 1000) / 1000);
  }
  assert.ok(results.default!.ratioToFloor, 'tunnels are also compared with the floor');
  assert.equal(results.default!.tls, true);
  assert.equal(results.plain!.tcpMux, false);
});

const COMPARE = join(import.meta.dirname, '..', '..', 'bench', 'frp-compare.ts');

test('bench/frp-compare measures direct and burrow by the shared method and prints ratios next to frp', async () => {
  const r = await runBench(COMPARE, ['--quick']);
  for (const path of ['direct', 'burrow']) {
    const f = r[path]!;
    for (const key of ['rttP50Us', 'rttP99Us', 'rttP999Us', 'connPerSec']) assert.ok((f[key] as number) > 0, `${path} ${key}`);
    // Throughput is null only where iperf3 is missing, and then a note says so.
    if (f.throughputGbps === null) assert.match(String(r.notes), /iperf3/);
  }
  const b = r.burrow!;
  for (const key of ['rssMiB1000Idle', 'rssMiB1000IdleSettled', 'clientRssMiB10Tunnels', 'cpuUsPerConn', 'cpuUsPerEcho', 'connPerSecRatioToFloor']) {
    assert.ok((b[key] as number) > 0, `burrow ${key}`);
  }
  assert.ok((b.ratioToDirect as Record<string, number>).connPerSec > 0);
  // Two bare Node relays in the tunnel's place: what connections per second can be had at all.
  const floor = r.floor as Record<string, number>;
  for (const key of ['connPerSec', 'rttP99Us', 'cpuUsPerConn', 'connPerSecRatioToDirect']) assert.ok(floor[key]! > 0, `floor ${key}`);
  assert.ok(r.frp_0_70_0, 'frp figures');
});
