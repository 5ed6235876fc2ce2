import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { describeError } from '../util/errors.js';
import type { ProblemSink } from './schema-engine.js';
import type { ValueSource } from './types.js';

/**
 * frp's "unsafe features": things a configuration may ask for only when the
 * command line allows them (`--allow-unsafe=TokenSourceExec`), so that whoever
 * can write the file (or PUT it through the admin API) cannot run programs.
 */
export const UNSAFE_FEATURES = ['TokenSourceExec'] as const;
export type UnsafeFeature = (typeof UNSAFE_FEATURES)[number];

/**
 * `--allow-unsafe` values as frp's flag takes them: repeated, or comma-separated.
 * An unknown name is an error (frp ignores it), so a typo does not go unnoticed.
 */
export function parseAllowUnsafe(values: readonly string[]): UnsafeFeature[] {
  const out: UnsafeFeature[] = [];
  for (const name of values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)) {
    if (!(UNSAFE_FEATURES as readonly string[]).includes(name)) {
      throw new Error(`--allow-unsafe: unknown feature "${name}"; known: ${UNSAFE_FEATURES.join(', ')}`);
    }
    if (!out.includes(name as UnsafeFeature)) out.push(name as UnsafeFeature);
  }
  return out;
}

/** frp's refusal, with the flag that lifts it. */
export function unsafeRefusal(feature: UnsafeFeature): string {
  return `unsafe feature "${feature}" is not enabled. To enable it, start with --allow-unsafe=${feature}`;
}

/** Bounds on the token a source gives: it goes into every Login. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
const MAX_EXEC_OUTPUT_BYTES = 64 * 1024;
/** frp waits for the program forever; burrow gives it this long, then kills it. */
export const EXEC_TIMEOUT_MS = 30_000;

export interface ResolveOptions {
  /** where a relative `file.path` or `exec.command` with a `/` is taken from: the config file's folder */
  baseDir: string;
  /** false: check an exec source but do not run it (verify, reload: the token is not applied live) */
  runExec: boolean;
}

/**
 * Puts the token a `tokenSource` names into `auth.token`, as frp does when it
 * starts: the file's text or the program's standard output, trimmed. A
 * failure is one problem at the key that names the source.
 */
export function resolveTokenSource(auth: { token: string; tokenSource?: ValueSource }, at: string, opts: ResolveOptions, problem: ProblemSink): void {
  const source = auth.tokenSource;
  if (!source || auth.token !== '') return;
  if (source.file) {
    const path = resolve(opts.baseDir, source.file.path);
    try {
      if (statSync(path).size > MAX_TOKEN_FILE_BYTES) throw new Error('larger than 64 KiB');
      auth.token = readFileSync(path, 'utf8').trim();
    } catch (err) {
      problem(`${at}.file.path`, `cannot read the token: ${describeError(err)}`);
    }
  } else if (source.exec && opts.runExec) {
    const token = runTokenCommand(source.exec, opts.baseDir);
    if (token.error !== undefined) problem(`${at}.exec.command`, token.error);
    else auth.token = token.value;
  }
}

type ExecSource = NonNullable<ValueSource['exec']>;

/** A bare name is looked up in PATH, as a shell would; a path with a folder is the file's own. */
function commandPath(command: string, baseDir: string): string {
  return !isAbsolute(command) && command.includes('/') ? resolve(baseDir, command) : command;
}

function commandEnv(exec: ExecSource): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const e of exec.env) env[e.name] = e.value;
  return env;
}

/**
 * A source read again at every use (`auth.oidc.tokenSource`: frpc resolves it
 * for each Login, and each Ping and NewWorkConn with their scope), with its
 * relative paths made absolute at load so the working directory does not matter.
 */
export function anchorValueSource(source: ValueSource, baseDir: string): void {
  if (source.file) source.file.path = resolve(baseDir, source.file.path);
  if (source.exec) source.exec.command = commandPath(source.exec.command, baseDir);
}

/** Reads an anchored source once, without blocking the event loop: the trimmed text, or an Error saying why not. */
export async function readValueSource(source: ValueSource): Promise<string> {
  if (source.file) {
    if ((await stat(source.file.path)).size > MAX_TOKEN_FILE_BYTES) throw new Error(`${source.file.path} is larger than 64 KiB`);
    return (await readFile(source.file.path, 'utf8')).trim();
  }
  const exec = source.exec;
  if (!exec) throw new Error('the token source names neither a file nor a command');
  const name = JSON.stringify(exec.command);
  return new Promise((resolveValue, reject) => {
    const options = {
      env: commandEnv(exec),
      shell: false,
      timeout: EXEC_TIMEOUT_MS,
      killSignal: 'SIGKILL' as const,
      maxBuffer: MAX_EXEC_OUTPUT_BYTES,
      windowsHide: true,
    };
    const child = execFile(exec.command, exec.args, options, (err, stdout, stderr) => {
      if (!err) return resolveValue(stdout.trim());
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new Error(`${name} printed more than ${MAX_EXEC_OUTPUT_BYTES / 1024} KiB`));
      if (e.killed) return reject(new Error(`${name} did not finish within ${EXEC_TIMEOUT_MS / 1000} s`));
      const said = stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
      const how = typeof e.code === 'number' ? `exited with code ${e.code}` : e.signal ? `was killed by ${e.signal}` : `cannot be run: ${describeError(err)}`;
      reject(new Error(`${name} ${how}${said ? `: ${JSON.stringify(said)}` : ''}`));
    });
    child.stdin?.end();
  });
}

/**
 * Runs the command without a shell (frp: exec.Command), with the inherited
 * environment plus `env`, no input, a time limit and a cap on what it prints.
 */
function runTokenCommand(exec: ExecSource, baseDir: string): { value: string; error?: undefined } | { error: string } {
  const command = commandPath(exec.command, baseDir);
  const env = commandEnv(exec);
  const r = spawnSync(command, exec.args, {
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: EXEC_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_EXEC_OUTPUT_BYTES,
    windowsHide: true,
  });
  const name = JSON.stringify(exec.command);
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') return { error: `${name} did not finish within ${EXEC_TIMEOUT_MS / 1000} s` };
  if (code === 'ENOBUFS') return { error: `${name} printed more than ${MAX_EXEC_OUTPUT_BYTES / 1024} KiB` };
  if (r.error) return { error: `cannot run ${name}: ${describeError(r.error)}` };
  if (r.status !== 0) {
    const said = r.stderr.toString('utf8').trim().split('\n')[0]?.slice(0, 200) ?? '';
    const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.status}`;
    return { error: `${name} ${how}${said ? `: ${JSON.stringify(said)}` : ''}` };
  }
  return { value: r.stdout.toString('utf8').trim() };
}
