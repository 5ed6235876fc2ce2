import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { echoThrough, freePort, patternBytes, startEcho, type EchoService } from '../helpers/tunnel.js';

/**
 * `frpc` and `frps` as frp's users and frp's e2e suite run them: the built
 * files in dist/, started with an EMPTY environment (no PATH, no HOME), so
 * they go through small wrapper scripts that name this node by its full path
 * (what scripts/frp-e2e.sh writes for the suite).
 */
const DIST = join(import.meta.dirname, '..', '..', 'dist', 'cli');
const dir = mkdtempSync(join(tmpdir(), 'burrow-frp-cli-'));

function wrapper(cmd: 'frpc' | 'frps'): string {
  const file = join(dir, cmd);
  writeFileSync(file, `#!/bin/sh\nexec '${process.execPath}' '${join(DIST, `${cmd}.js`)}' "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}
const FRPC = wrapper('frpc');
const FRPS = wrapper('frps');

interface Run {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

const spawned = new Set<ChildProcess>();
after(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `bin` with no environment at all, as frp's test framework does. */
function run(bin: string, args: string[]): Run {
  const child = spawn(bin, args, { env: {}, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(child);
  let out = '';
  let all = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    all += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => (all += c.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => all, stdout: () => out, exit };
}

/** Resolves with the first match of `re` in stdout+stderr (frp's suite reads both), or fails when the process exits first. */
function waitForOutput(r: Run, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${timeoutMs} ms: ${r.output()}`)), timeoutMs);
    const check = (): void => {
      const m = r.output().match(re);
      if (!m) return;
      clearTimeout(timer);
      r.child.stdout!.off('data', check);
      r.child.stderr!.off('data', check);
      resolve(m);
    };
    r.child.stdout!.on('data', check);
    r.child.stderr!.on('data', check);
    void r.exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing ${re}: ${r.output()}`));
    });
    check();
  });
}

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('frpc / frps (frp command lines, empty environment)', () => {
  let echo: EchoService;
  before(async () => {
    echo = await startEcho();
  });
  after(async () => {
    await echo.close();
  });

  test('verify: "syntax is ok" and exit 0 for a good file; the problem and exit 1 for a bad one', async () => {
    const goodServer = writeConfig('frps-good', 'bindAddr = "0.0.0.0"\nbindPort = 7000\n');
    const badServer = writeConfig('frps-bad', 'bindAddr = "0.0.0.0"\nbindPort = 70000\n');
    const goodClient = writeConfig('frpc-good', 'serverAddr = "0.0.0.0"\nserverPort = 7000\n');
    const badClient = writeConfig('frpc-bad', 'serverAddr = "0.0.0.0"\nserverPort = 7000\ntransport.protocol = "invalid"\n');
    const cases: Array<[string, string, number, RegExp]> = [
      [FRPS, goodServer, 0, new RegExp(`^frps: the configuration file ${goodServer} syntax is ok\\n$`)],
      [FRPS, badServer, 1, /bindPort: 70000 is out of range/],
      [FRPC, goodClient, 0, new RegExp(`^frpc: the configuration file ${goodClient} syntax is ok\\n$`)],
      [FRPC, badClient, 1, /transport\.protocol: expected one of/],
    ];
    // Side by side: each start loads all of burrow.
    const runs = cases.map(([bin, file]) => run(bin, ['verify', '-c', file]));
    for (const [i, [, , code, re]] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(await r.exit, code, r.output());
      assert.match(r.stdout(), re);
      if (code !== 0) assert.doesNotMatch(r.output(), /syntax is ok/);
    }
    const none = run(FRPS, ['verify']);
    assert.equal(await none.exit, 0);
    assert.equal(none.stdout(), 'frps: the configuration file is not specified\n');
  });

  test("unknown commands and flags: cobra's error and exit 1; -v prints the frp version", async () => {
    const cases: Array<[string, string[], RegExp]> = [
      [FRPC, ['bogus'], /^Error: unknown command "bogus" for "frpc"/],
      [FRPC, ['tcp', '--bogus'], /^Error: unknown flag: --bogus/],
      [FRPC, ['tcp', '--sd', 'x'], /^Error: unknown flag: --sd/],
      [FRPS, ['-x'], /^Error: unknown shorthand flag: 'x' in -x/],
      [FRPS, ['-p'], /^Error: flag needs an argument: 'p' in -p/],
      [FRPS, ['-p', 'abc'], /^Error: invalid argument "abc" for "-p, --bind-port" flag/],
      [FRPC, ['--config_dir', dir], /--config_dir is not supported/],
      [FRPS, ['--strict_config=false'], /--strict-config=false is not supported/],
      [FRPS, ['--dashboard-tls-mode', '--dashboard-port', '0'], /webServer\.tls\.certFile.*required when webServer\.tls is set/],
    ];
    const runs = cases.map(([bin, args]) => run(bin, args));
    for (const [i, [, args, re]] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(await r.exit, 1, `${args.join(' ')}: ${r.output()}`);
      assert.match(r.output(), re);
    }
    for (const bin of [FRPC, FRPS]) {
      const v = run(bin, ['-v']);
      assert.equal(await v.exit, 0);
      assert.match(v.stdout(), /^0\.70\.\d+\n$/);
    }
  });

  test("frps flags + frpc tcp flags carry bytes end to end, with frp's log lines", async () => {
    const frps = run(FRPS, ['-t', '123', '-p', '0', '--bind_addr', '127.0.0.1', '--log-level', 'info']);
    const [, serverPort] = await waitForOutput(frps, /server listening addr=127\.0\.0\.1:(\d+)/);
    await waitForOutput(frps, /frps started successfully/);
    const frpc = run(FRPC, ['tcp', '-s', '127.0.0.1', '-P', serverPort!, '-t', '123', '-u', 'test', '-l', String(echo.port), '-r', '0', '-n', 'tcp_test']);
    await waitForOutput(frpc, /login to server success, get run id \[[0-9a-f]{8}…\]/);
    const [, remotePort] = await waitForOutput(frpc, /\[tcp_test\] start proxy success type=tcp remote=127\.0\.0\.1:(\d+)/);
    const data = patternBytes(256 * 1024);
    assert.deepEqual(await echoThrough(Number(remotePort), data), data);

    // A wrong token: frpc reports the refusal and exits 1 (loginFailExit, as frp).
    const refused = run(FRPC, ['tcp', '-s', '127.0.0.1', '-P', serverPort!, '-t', 'wrong', '-l', String(echo.port), '-n', 'x']);
    assert.equal(await refused.exit, 1, refused.output());

    frpc.child.kill('SIGTERM');
    frps.child.kill('SIGTERM');
    assert.equal(await frpc.exit, 0);
    assert.equal(await frps.exit, 0);
  });

  test('frpc -c FILE with frps -c FILE: status table, reload, stop; heartbeat and health check lines', async () => {
    const serverPort = await freePort();
    const adminPort = await freePort();
    const frps = run(FRPS, ['-c', writeConfig('frps.toml', `bindAddr = "127.0.0.1"\nbindPort = ${serverPort}\nauth.token = "123"\n`)]);
    await waitForOutput(frps, /frps started successfully/);
    const health = await startEcho();
    const proxies = (names: string[]): string =>
      names
        .map(
          (n) =>
            `[[proxies]]\nname = "${n}"\ntype = "tcp"\nlocalPort = ${n === 'hc' ? health.port : echo.port}\nremotePort = 0\n${n === 'hc' ? 'healthCheck.type = "tcp"\nhealthCheck.intervalSeconds = 1\n' : ''}`,
        )
        .join('');
    const common = `serverAddr = "127.0.0.1"\nserverPort = ${serverPort}\nauth.token = "123"\nlog.level = "debug"\ntransport.heartbeatInterval = 1\nwebServer.addr = "127.0.0.1"\nwebServer.port = ${adminPort}\n`;
    const file = writeConfig('frpc.toml', common + proxies(['web', 'hc']));
    const frpc = run(FRPC, ['-c', file]);
    await waitForOutput(frpc, /\[web\] start proxy success/);
    await waitForOutput(frpc, /\[hc\] health check success/);
    await waitForOutput(frpc, /DEBUG send heartbeat to server/);

    const status = run(FRPC, ['status', '-c', file]);
    assert.equal(await status.exit, 0, status.output());
    const lines = status.stdout().split('\n');
    assert.equal(lines[0], 'Proxy Status...');
    assert.equal(lines[1], '');
    assert.equal(lines[2], 'TCP');
    assert.match(lines[3]!, /^Name {2}Status {3}LocalAddr +Plugin {2}RemoteAddr +Error {2}$/);
    assert.match(status.stdout(), /\nhc +running +127\.0\.0\.1:\d+ +127\.0\.0\.1:\d+ +\n/);
    assert.match(status.stdout(), /\nweb +running +127\.0\.0\.1:\d+ +127\.0\.0\.1:\d+ +\n/);

    // The health check fails when the local service goes away.
    await health.close();
    await waitForOutput(frpc, /\[hc\] health check failed/);

    writeFileSync(file, common + proxies(['web', 'added']));
    const reload = run(FRPC, ['reload', '-c', file]);
    assert.equal(await reload.exit, 0, reload.output());
    assert.equal(reload.stdout(), 'reload success\n');
    await waitForOutput(frpc, /\[added\] start proxy success/);

    // burrow's own spelling of the same request shows the table too.
    const burrowStatus = spawnSync(process.execPath, [join(DIST, 'main.js'), 'client', 'status', '-c', file], { env: {}, encoding: 'utf8' });
    assert.equal(burrowStatus.status, 0, burrowStatus.stderr);
    assert.match(burrowStatus.stdout, /\nadded +running /);

    const stop = run(FRPC, ['stop', '-c', file]);
    assert.equal(await stop.exit, 0, stop.output());
    assert.equal(stop.stdout(), 'stop success\n');
    assert.equal(await frpc.exit, 0);

    // No admin API any more: the error and exit 1; no webServer.port: frp's message.
    const gone = run(FRPC, ['status', '-c', file]);
    assert.equal(await gone.exit, 1);
    assert.match(gone.stdout(), /^Get "http:\/\/127\.0\.0\.1:\d+\/api\/status": /);
    const noPort = run(FRPC, ['reload', '-c', writeConfig('frpc-noadmin.toml', 'serverAddr = "127.0.0.1"\n')]);
    assert.equal(await noPort.exit, 1);
    assert.equal(noPort.stdout(), 'web server port should be set if you want to use this feature\n');
    // status/reload/stop only need the admin address: a token program is allowed but never run for them.
    const marker = join(dir, 'token-program-ran');
    const program = writeConfig('token.sh', `#!/bin/sh\necho ran > '${marker}'\necho secret\n`);
    chmodSync(program, 0o755);
    const execFile = writeConfig(
      'frpc-exec.toml',
      `serverAddr = "127.0.0.1"\nwebServer.port = 1\nauth.tokenSource.type = "exec"\nauth.tokenSource.exec.command = "${program}"\n`,
    );
    const execStatus = run(FRPC, ['status', '-c', execFile, '--allow-unsafe=TokenSourceExec']);
    assert.equal(await execStatus.exit, 1, 'nothing listens on the admin port');
    assert.equal(existsSync(marker), false, 'the token program ran for frpc status');

    frps.child.kill('SIGTERM');
    assert.equal(await frps.exit, 0);
  });

  test('frps without a token on a public address starts, with a warning (burrow server refuses)', async () => {
    const frps = run(FRPS, ['-p', '0']);
    await waitForOutput(frps, /WARN {2}auth\.token is empty: any client that reaches this server can log in/);
    await waitForOutput(frps, /frps started successfully/);
    frps.child.kill('SIGTERM');
    assert.equal(await frps.exit, 0);
  });

  test('frps --dashboard-tls-mode with the certificate flags serves the dashboard over HTTPS', async () => {
    const pair = generateSelfSignedCertificate({ commonName: 'dash.test' });
    const cert = writeConfig('dash.crt', pair.cert);
    const key = writeConfig('dash.key', pair.key);
    const frps = run(FRPS, [
      '-p',
      '0',
      '-t',
      'tok',
      '--dashboard-addr',
      '127.0.0.1',
      '--dashboard-port',
      String(await freePort()),
      '--dashboard-tls-mode',
      '--dashboard-tls-cert-file',
      cert,
      '--dashboard-tls-key-file',
      key,
    ]);
    const [, port] = await waitForOutput(frps, /admin API listening addr=127\.0\.0\.1:(\d+) tls=true/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: Number(port), path: '/healthz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    frps.child.kill('SIGTERM');
    assert.equal(await frps.exit, 0);
  });

  // The files themselves, through their `#!/usr/bin/env node` line: works where env finds node without PATH.
  const envFindsNode = existsSync('/usr/bin/env') && spawnSync('/usr/bin/env', ['node', '--version'], { env: {} }).status === 0;
  test('dist/cli/frpc.js runs by its own path with an empty environment', { skip: !envFindsNode && 'env finds no node without PATH here' }, async () => {
    const r = run(join(DIST, 'frpc.js'), ['-v']);
    assert.equal(await r.exit, 0, r.output());
    assert.match(r.stdout(), /^0\.70\.\d+\n$/);
  });
});
