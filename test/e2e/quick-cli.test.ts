import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BurrowServer } from '../../src/server/server.js';
import { type CliRun, runCli, waitForCliOutput } from '../helpers/cli-run.js';
import { vhostRequest } from '../helpers/http.js';
import { freePort, startServer, TOKEN } from '../helpers/tunnel.js';

/** The CLI exactly as a user runs it: the built bin in dist/, with HOME and XDG_CONFIG_HOME in a temp folder. */
const ROOT = join(import.meta.dirname, '..', '..');

function homeEnv(): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-quick-e2e-'));
  return { ...process.env, HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' };
}

const run = (args: string[], env: NodeJS.ProcessEnv): CliRun => runCli(args, env);
const waitForOutput = (r: CliRun, re: RegExp): Promise<RegExpMatchArray> => waitForCliOutput(r, 'stdout', re);

test('npx burrow-tunnel runs burrow: npx runs the bin named after the package when there are several', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
  assert.equal(pkg.name, 'burrow-tunnel');
  assert.equal(pkg.bin['burrow-tunnel'], pkg.bin.burrow);
  assert.equal(pkg.bin.burrow, 'dist/cli/main.js');
});

describe('burrow login, burrow http <port>, burrow status', () => {
  let server: BurrowServer;
  let vhostPort: number;
  let web: Server;
  let webPort: number;

  before(async () => {
    vhostPort = await freePort();
    server = await startServer({ vhostHTTPPort: vhostPort, subDomainHost: 't.localhost' });
    web = createServer((req, res) => res.end(`local saw ${req.method} ${req.url}`));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    webPort = (web.address() as AddressInfo).port;
  });
  after(async () => {
    await server.stop();
    web.close();
  });

  test('a wrong token: login fails with the reason and saves nothing', async () => {
    const env = homeEnv();
    const r = run(['login', '--server', `127.0.0.1:${server.port}`, '--token', 'wrong'], env);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr(), /^burrow: login to 127\.0\.0\.1:\d+ failed, nothing was saved: .*token/m);
    assert.equal(existsSync(join(env.XDG_CONFIG_HOME!, 'burrow', 'login.json')), false);
  });

  test('without a server given or saved, one clear error', async () => {
    const r = run(['http', String(webPort)], homeEnv());
    assert.equal(await r.exit, 1);
    assert.match(r.stderr(), /burrow http: no server; give --server <host:port> \[--token T\], or run "burrow login" once/);
  });

  test('login saves 0600; two runs of burrow http get different *.t.localhost names that serve the port; status lists both', async () => {
    const env = homeEnv();
    const login = run(['login', '--server', `127.0.0.1:${server.port}`, '--token', TOKEN], env);
    assert.equal(await login.exit, 0, login.stderr());
    const file = join(env.XDG_CONFIG_HOME!, 'burrow', 'login.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).token, TOKEN);

    const urlRe = /forwarding (http:\/\/([a-z0-9]+)\.t\.localhost:(\d+)) -> 127\.0\.0\.1:(\d+)/;
    const first = run(['http', String(webPort), '--inspect-port', '0'], env);
    const second = run(['http', String(webPort), '--inspect-port', '0'], env);
    const [, url1, name1, port1] = await waitForOutput(first, urlRe);
    const [, url2, name2] = await waitForOutput(second, urlRe);
    assert.notEqual(name1, name2);
    assert.equal(Number(port1), vhostPort);
    assert.match(first.stdout(), /inspect +http:\/\/127\.0\.0\.1:\d+\/#inspect/);
    for (const [url, name, r] of [
      [url1!, name1!, first],
      [url2!, name2!, second],
    ] as const) {
      const answer = await vhostRequest(vhostPort, `${name}.t.localhost`, '/from-the-internet');
      assert.equal(answer.body.toString(), 'local saw GET /from-the-internet', url);
      // Not a terminal: each request is one plain line.
      await waitForOutput(r, /\d\d:\d\d:\d\d {2}GET +\/from-the-internet +200 OK +\d+ ms/);
    }

    const status = run(['status'], env);
    assert.equal(await status.exit, 0, status.stderr());
    assert.match(status.stdout(), new RegExp(`logged in to 127\\.0\\.0\\.1:${server.port}`));
    for (const name of [name1!, name2!])
      assert.match(status.stdout(), new RegExp(`http-${name} +running +127\\.0\\.0\\.1:${webPort} +${name}\\.t\\.localhost:${vhostPort}`));

    for (const r of [first, second]) {
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    }
    assert.deepEqual(readdirSync(join(env.XDG_CONFIG_HOME!, 'burrow', 'run')), [], 'each run removed its record');
    const none = run(['status'], env);
    assert.equal(await none.exit, 0);
    assert.match(none.stdout(), /no burrow http\|tcp\|udp is running/);

    const logout = run(['logout'], env);
    assert.equal(await logout.exit, 0);
    assert.equal(existsSync(file), false);
  });

  test('service install prints the unit; --dry-run writes nothing, without it the unit is written', async () => {
    const env = homeEnv();
    const dir = mkdtempSync(join(tmpdir(), 'burrow-units-'));
    const config = join(dir, 'frpc.toml');
    writeFileSync(config, 'serverAddr = "127.0.0.1"\n');
    const dry = run(['service', 'install', 'client', '-c', config, '--unit-dir', dir, '--dry-run'], env);
    assert.equal(await dry.exit, 0, dry.stderr());
    assert.match(dry.stdout(), new RegExp(`ExecStart=\\S+ \\S+main\\.js client -c ${config.replace(/[.]/g, '\\.')}`));
    assert.match(dry.stdout(), /dry run: nothing written/);
    assert.equal(existsSync(join(dir, 'burrow-client.service')), false);
    const real = run(['service', 'install', 'client', '-c', config, '--unit-dir', dir], env);
    assert.equal(await real.exit, 0, real.stderr());
    assert.match(readFileSync(join(dir, 'burrow-client.service'), 'utf8'), /^\[Install\]\nWantedBy=multi-user\.target$/m);
    assert.match(real.stdout(), /systemctl enable --now burrow-client/);
  });
});
