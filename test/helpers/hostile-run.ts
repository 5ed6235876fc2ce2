/**
 * The whole hostile-traffic scenario, shared by the test (short, fixed seed)
 * and `npm run hostile` (longer, from the environment): a real server process
 * with every public port on, a real client with a tcp tunnel to a real echo
 * service, an echo through the tunnel every half second while the attack
 * runs, then a wait for the server's memory and descriptors to come back.
 */
import type { BurrowClient } from '../../src/client/client.js';
import { withTimeout } from '../../src/util/timeout.js';
import { runAttack, processStats, spawnServer, type AttackReport, type ProcessStats, type SpawnedServer } from './hostile.js';
import { connect } from 'node:net';
import { once } from 'node:events';
import { freePort, makeClient, patternBytes, portOf, startEcho, tcpProxy, TOKEN, type EchoService } from './tunnel.js';

export interface HostileRunOptions {
  durationMs: number;
  concurrency: number;
  seed: number;
  /** how far above its baseline the server's RSS may stay once the attack is over */
  rssSlackBytes: number;
  /** how long the server gets to come back to its baseline */
  recoverMs: number;
}

export interface HostileRunResult {
  attack: AttackReport;
  echoes: { ok: number; failed: number; firstFailure?: string };
  server: { before: ProcessStats; peak: ProcessStats; after: ProcessStats; exitedDuring: number | string | null; recovered: boolean };
  ports: Record<string, number>;
  /** the server's stderr when something went wrong, else empty */
  serverLog: string;
}

const ECHO_EVERY_MS = 500;
const ECHO_TIMEOUT_MS = 5000;
const SAMPLE_EVERY_MS = 200;

export function serverToml(ports: { vhostHttp: number; vhostHttps: number; tcpmux: number }): string {
  return [
    'bindAddr = "127.0.0.1"',
    'bindPort = 0',
    'proxyBindAddr = "127.0.0.1"',
    `vhostHTTPPort = ${ports.vhostHttp}`,
    `vhostHTTPSPort = ${ports.vhostHttps}`,
    `tcpmuxHTTPConnectPort = ${ports.tcpmux}`,
    `auth.token = "${TOKEN}"`,
    '',
  ].join('\n');
}

function maxStats(a: ProcessStats, b: ProcessStats): ProcessStats {
  return { rssBytes: Math.max(a.rssBytes, b.rssBytes), fds: Math.max(a.fds, b.fds) };
}

/** echoThrough with every socket error caught and the socket always destroyed: a failure is counted, not thrown. */
async function echoOnce(port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  try {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // Settles on 'end', or with the socket's error: whichever comes first, it is awaited below.
    const ended = new Promise<void>((resolve, reject) => {
      socket.once('end', resolve);
      socket.once('error', reject);
    });
    await Promise.race([once(socket, 'connect'), ended]);
    socket.end(data);
    await ended;
    return Buffer.concat(chunks);
  } finally {
    socket.destroy();
  }
}

/** Echoes through the tunnel every ECHO_EVERY_MS until stopped; each echo is checked byte for byte. */
function echoLoop(port: number): { stop(): Promise<HostileRunResult['echoes']> } {
  const result: HostileRunResult['echoes'] = { ok: 0, failed: 0 };
  let running = true;
  const loop = (async () => {
    for (let i = 1; running; i++) {
      const started = Date.now();
      const data = patternBytes(512 + (i % 512), i);
      try {
        const back = await withTimeout(echoOnce(port, data), ECHO_TIMEOUT_MS, `echo ${i}`);
        if (back.equals(data)) result.ok++;
        else throw new Error(`echo ${i}: ${back.length} bytes back of ${data.length}, or different bytes`);
      } catch (err) {
        result.failed++;
        result.firstFailure ??= `${new Date().toISOString()} ${err instanceof Error ? err.message : String(err)}`;
      }
      const wait = ECHO_EVERY_MS - (Date.now() - started);
      if (wait > 0 && running) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

export async function runHostileScenario(opts: HostileRunOptions): Promise<HostileRunResult> {
  const vhostPorts = { vhostHttp: await freePort(), vhostHttps: await freePort(), tcpmux: await freePort() };
  let echo: EchoService | undefined;
  let server: SpawnedServer | undefined;
  let client: BurrowClient | undefined;
  try {
    echo = await startEcho();
    server = await spawnServer(serverToml(vhostPorts));
    client = makeClient(server.bindPort, { proxies: [tcpProxy('echo', echo.port)] });
    await client.start();
    const tunnelPort = portOf((await client.waitForProxy('echo')).remoteAddr);
    const warm = patternBytes(1024, 99);
    if (!(await echoOnce(tunnelPort, warm)).equals(warm)) throw new Error('the tunnel does not echo before the attack');

    const before = processStats(server.pid);
    let peak = before;
    const sampler = setInterval(() => {
      try {
        peak = maxStats(peak, processStats(server!.pid));
      } catch {
        // the process is gone: reported below through its exit code
      }
    }, SAMPLE_EVERY_MS);
    const echoes = echoLoop(tunnelPort);
    let attack: AttackReport;
    try {
      attack = await runAttack({
        targets: { bind: server.bindPort, ...vhostPorts },
        durationMs: opts.durationMs,
        concurrency: opts.concurrency,
        seed: opts.seed,
        stopWhen: () => server!.exitCode() !== null,
      });
    } finally {
      clearInterval(sampler);
    }
    // One more echo after the attack: the tunnel must still serve.
    const echoResult = await echoes.stop();
    const exitedDuring = server.exitCode();

    let after = before;
    let recovered = false;
    if (exitedDuring === null) {
      const deadline = Date.now() + opts.recoverMs;
      for (;;) {
        after = processStats(server.pid);
        peak = maxStats(peak, after);
        recovered = after.fds <= before.fds && after.rssBytes <= before.rssBytes + opts.rssSlackBytes;
        if (recovered || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
      }
    }
    const ok = exitedDuring === null && recovered && echoResult.failed === 0;
    return {
      attack,
      echoes: echoResult,
      server: { before, peak, after, exitedDuring, recovered },
      ports: { bind: server.bindPort, tunnel: tunnelPort, ...vhostPorts },
      serverLog: ok ? '' : server.stderr().slice(-8000),
    };
  } finally {
    client?.stop();
    await server?.stop();
    await echo?.close();
  }
}
