import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './tunnel.js';

/** Whether a redis-server binary is on PATH. */
function findRedis(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `skip` for a cluster test: false when it can run. CI installs redis-server
 * and sets BURROW_REQUIRE_REDIS, so there a missing binary fails instead.
 */
export const redisSkip: string | false =
  findRedis() || process.env.BURROW_REQUIRE_REDIS ? false : 'no redis-server on this machine (install the redis-server package)';

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL, as a crash would; resolves when it is gone */
  kill(): Promise<void>;
  /** a fresh, empty server on the same port (nothing is saved) */
  restart(): Promise<void>;
}

/**
 * A throwaway Redis on 127.0.0.1. It cannot take port 0 (redis refuses it),
 * so this is the accepted exception to "port 0 in tests": a port picked by
 * freePort(), with the small race that implies. Nothing is persisted.
 */
export async function startRedis(opts: { replicaOf?: number } = {}): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const replica = opts.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(opts.replicaOf)];
  const launch = async (): Promise<void> => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...replica], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out.slice(-400)}`)));
    });
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = once(proc, 'exit');
    proc.kill('SIGKILL');
    await gone;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await launch();
    },
  };
}

export interface SentinelProcess {
  readonly port: number;
  /** resolves when the Sentinel's log has printed a line matching `pattern` (its events: +slave, +switch-master, …) */
  waitForEvent(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
}

/**
 * One Redis Sentinel (Debian's redis-server run with --sentinel) watching the
 * primary on 127.0.0.1:`primaryPort` as `name`, with a quorum of one and
 * short timeouts so a failover takes seconds. Sentinel rewrites its config
 * file, so it gets one of its own in a temporary folder.
 */
export async function startSentinel(primaryPort: number, name: string): Promise<SentinelProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'burrow-sentinel-'));
  const file = join(dir, 'sentinel.conf');
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const proc = spawn('redis-server', [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters]) w();
  });
  const waitForEvent = (pattern: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const line = out.split('\n').find((l) => pattern.test(l));
        if (line === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`sentinel printed nothing matching ${pattern} in ${timeoutMs} ms: ${out.slice(-600)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const exited = once(proc, 'exit');
  await Promise.race([
    waitForEvent(/\+monitor master/),
    exited.then(() => {
      throw new Error(`redis-server --sentinel exited before it was ready: ${out.slice(-400)}`);
    }),
  ]);
  return {
    port,
    waitForEvent,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
