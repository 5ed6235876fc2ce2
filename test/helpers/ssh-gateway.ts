import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BurrowServer } from '../../src/server/server.js';
import { SshGateway } from '../../src/sshgw/gateway.js';
import { freePort, testLogger, tunnelKit, whenDone } from './tunnel.js';

/** A temp folder with a client key made by ssh-keygen (comment `alice`), removed when the test ends. */
export function keyDir(t: TestContext): { dir: string; key: string; pub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-sshgw-'));
  whenDone(t, () => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'id_alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
  return { dir, key, pub: readFileSync(`${key}.pub`, 'utf8') };
}

export interface Gateway {
  server: BurrowServer;
  gateway: SshGateway;
}

/** A burrow server with the SSH gateway on a free port; `gateway` settings on top. */
export async function startGateway(
  t: TestContext,
  gatewaySettings: Record<string, string>,
  extra: Parameters<ReturnType<typeof tunnelKit>['startServer']>[0] = {},
  logger = testLogger('ssh-gateway'),
): Promise<Gateway> {
  const kit = tunnelKit(t);
  const server = await kit.startServer({ ...extra, sshTunnelGateway: { bindPort: await freePort(), ...gatewaySettings } });
  const gateway = new SshGateway(server, logger);
  await gateway.start();
  whenDone(t, () => gateway.stop());
  return { server, gateway };
}

export interface SshRun {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** resolves with the first match of `pattern` in stdout (already there or still to come) */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** resolves with the exit code */
  exited: Promise<number | null>;
}

/** The stock OpenSSH client with a -R forward to 127.0.0.1:`target` and `command` as its remote command. */
export function runSsh(t: TestContext, port: number, key: string, target: number, command: string[], extraArgs: string[] = []): SshRun {
  const args = [
    ...['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'],
    ...['-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-i', key, '-p', String(port)],
    ...['-R', `:80:127.0.0.1:${target}`, ...extraArgs, 'v0@127.0.0.1', ...command],
  ];
  const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  whenDone(t, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await exited;
    }
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForOutput(pattern) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = stdout.match(pattern);
          if (m) {
            waiters.splice(waiters.indexOf(check), 1);
            resolve(m);
          }
        };
        waiters.push(check);
        void exited.then((code) => reject(new Error(`ssh exited (${code}) before printing ${pattern}; stdout: ${stdout}; stderr: ${stderr}`)));
        check();
      });
    },
  };
}

export function serverSshPort(server: BurrowServer): number {
  return server.config.sshTunnelGateway.bindPort;
}
