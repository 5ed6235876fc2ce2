import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
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
