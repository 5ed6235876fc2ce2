import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** The CLI exactly as a user runs it: the built bin in dist/ (npm ci builds it through prepare). */
export const CLI_BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** One CLI process and what it printed so far. */
export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Every process a test file starts, so a failing test cannot leave one running. */
const spawned = new Set<ChildProcess>();
after(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** `burrow <args>` in a child process (`env` defaults to this process's). */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): CliRun {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  spawned.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Resolves with the first match of `re` in the stream, or fails when the process exits first. */
export function waitForCliOutput(r: CliRun, stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const src = stream === 'stdout' ? r.child.stdout! : r.child.stderr!;
    const check = (): void => {
      const m = (stream === 'stdout' ? r.stdout() : r.stderr()).match(re);
      if (m) {
        src.off('data', check);
        resolve(m);
      }
    };
    src.on('data', check);
    void r.exit.then((code) => reject(new Error(`exited (${code}) before printing ${re}: ${r.stdout()} ${r.stderr()}`)));
    check();
  });
}
