import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type CliRun, runCli, waitForCliOutput } from '../helpers/cli-run.js';
import { vhostRequest } from '../helpers/http.js';
import { echoThrough, freePort, patternBytes, portOf, startEcho, startServer, TOKEN, waitFor } from '../helpers/tunnel.js';

const run = (args: string[]): CliRun => runCli(args);
const waitForOutput = waitForCliOutput;

function writeConfig(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-e2e-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('burrow CLI', () => {
  test('--version prints the version and the frp protocol it speaks', async () => {
    const r = run(['--version']);
    assert.equal(await r.exit, 0);
    assert.match(r.stdout(), /^burrow \d+\.\d+\.\d+ \(frp protocol 0\.70\.\d+\)/);
  });

  test('--help of each command explains its options', async () => {
    for (const cmd of ['server', 'client', 'tcp', 'http', 'demo']) {
      const r = run([cmd, '--help']);
      assert.equal(await r.exit, 0);
      assert.match(r.stdout(), new RegExp(`burrow ${cmd}`));
    }
  });

  test('demo starts, answers through the tunnel, and stops cleanly on SIGINT', async () => {
    const r = run(['demo']);
    const [, url] = await waitForOutput(r, 'stdout', /curl (http:\/\/127\.0\.0\.1:\d+\/)/);
    const res = await fetch(url!);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /hello from the local service/);
    const echoed = await (await fetch(url!, { method: 'POST', body: 'round trip' })).text();
    assert.equal(echoed, 'round trip');
    // The same service by name through the HTTP vhost (*.localhost is loopback; sent here as a Host header).
    const [, vhostPort] = await waitForOutput(r, 'stdout', /curl http:\/\/demo\.localhost:(\d+)\//);
    const byName = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: Number(vhostPort), path: '/named', headers: { host: `demo.localhost:${vhostPort}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(byName, /hello from the local service behind burrow \(GET \/named\)/);
    // Both web pages are up on loopback and their APIs show the demo's tunnels.
    const [, dashboardUrl] = await waitForOutput(r, 'stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+\/)/);
    const [, adminUrl] = await waitForOutput(r, 'stdout', /admin +(http:\/\/127\.0\.0\.1:\d+\/)/);
    assert.match(await (await fetch(dashboardUrl!)).text(), /<title>burrow server<\/title>/);
    const tcp = (await (await fetch(`${dashboardUrl!}api/proxy/tcp`)).json()) as { proxies: Array<{ name: string; status: string }> };
    assert.deepEqual(
      tcp.proxies.map((p) => [p.name, p.status]),
      [['demo-web', 'online']],
    );
    const client = (await (await fetch(`${adminUrl!}api/client`)).json()) as { state: string; proxies: Array<{ name: string; status: string }> };
    assert.equal(client.state, 'online');
    assert.deepEqual(
      client.proxies.map((p) => [p.name, p.status]),
      [
        ['demo-http', 'running'],
        ['demo-web', 'running'],
      ],
    );
    r.child.kill('SIGINT');
    assert.equal(await r.exit, 0);
    assert.match(r.stdout(), /burrow demo stopped/);
  });

  test('client with a wrong token exits 1 with a readable message', async () => {
    const server = await startServer();
    const cfg = writeConfig(
      'frpc.toml',
      `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "not-the-token"\n\n[[proxies]]\nname = "ssh"\ntype = "tcp"\nlocalPort = 22\nremotePort = 0\n`,
    );
    const r = run(['client', '-c', cfg]);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr(), /burrow: login to 127\.0\.0\.1:\d+ failed: .*token/);
    await server.stop();
  });

  test('a config with errors exits 1 and lists every problem with its key', async () => {
    const cfg = writeConfig('frpc.toml', `serverPort = 70000\n[[proxies]]\nname = "a"\nlocalPrt = 22\n`);
    const r = run(['client', '-c', cfg]);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr(), /serverPort: 70000 is out of range/);
    assert.match(r.stderr(), /proxies\[0\]\.localPrt: unknown key, did you mean localPort\?/);
    assert.match(r.stderr(), /proxies\[0\]\.localPort: required/);
  });

  test('server and client from config files, and `burrow tcp`, carry a tunnel', async () => {
    const echo = await startEcho();
    const serverCfg = writeConfig('frps.toml', `bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "t0k#en"\n`);
    const server = run(['server', '-c', serverCfg, '--log-level', 'info']);
    const [, bindPort] = await waitForOutput(server, 'stderr', /server listening addr=127\.0\.0\.1:(\d+)/);

    const clientCfg = writeConfig(
      'frpc.toml',
      `serverAddr = "127.0.0.1"\nserverPort = ${bindPort}\nauth.token = "t0k#en"\n\n[[proxies]]\nname = "echo"\ntype = "tcp"\nlocalIP = "127.0.0.1"\nlocalPort = ${echo.port}\nremotePort = 0\n`,
    );
    const client = run(['client', '-c', clientCfg]);
    const [, remote] = await waitForOutput(client, 'stderr', /\[echo\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+) local=127\.0\.0\.1:\d+/);
    const data = patternBytes(300_000, 11);
    assert.ok((await echoThrough(portOf(remote!), data)).equals(data));

    const quick = run(['tcp', String(echo.port), '--server', `127.0.0.1:${bindPort}`, '--token', 't0k#en']);
    const [, quickRemote] = await waitForOutput(quick, 'stderr', /\[tcp-\d+\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);
    assert.ok((await echoThrough(portOf(quickRemote!), data)).equals(data));

    for (const r of [quick, client, server]) {
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    }
    await waitFor(() => echo.open === 0, 'local sockets to close');
    await echo.close();
  });

  test('server from frps flags alone (no file) carries a tunnel; flags beside -c are refused', async () => {
    const server = run(['server', '--bind-addr', '127.0.0.1', '-p', '0', '-t', 'fl4g', '--subdomain-host', 't.localhost', '--log-level', 'info']);
    const [, bindPort] = await waitForOutput(server, 'stderr', /server listening addr=127\.0\.0\.1:(\d+)/);
    const echo = await startEcho();
    const quick = run(['tcp', String(echo.port), '--server', `127.0.0.1:${bindPort}`, '--token', 'fl4g']);
    const [, remote] = await waitForOutput(quick, 'stderr', /\[tcp-\d+\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);
    const data = patternBytes(4096, 3);
    assert.ok((await echoThrough(portOf(remote!), data)).equals(data));
    const wrong = run(['tcp', String(echo.port), '--server', `127.0.0.1:${bindPort}`, '--token', 'nope']);
    assert.equal(await wrong.exit, 1);
    for (const r of [quick, server]) {
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    }
    await echo.close();

    const cfg = writeConfig('frps.toml', 'bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "t"\n');
    const both = run(['server', '-c', cfg, '-t', 'other']);
    assert.equal(await both.exit, 1);
    assert.match(both.stderr(), /--token cannot be used with -c/);
  });

  test('server: an open server is refused with the key and flag named; its own certificate stays beside the config', async () => {
    const refused = run(['server']);
    assert.equal(await refused.exit, 1);
    assert.match(refused.stderr(), /auth\.token is empty and the server listens on 0\.0\.0\.0:7000/);
    assert.match(refused.stderr(), /auth\.allowEmptyToken = true \(burrow server --allow-empty-token\)/);

    const serverCfg = writeConfig('frps.toml', `bindAddr = "127.0.0.1"\nbindPort = 0\nauth.token = "t"\n`);
    const fingerprints: string[] = [];
    for (let i = 0; i < 2; i++) {
      const server = run(['server', '-c', serverCfg]);
      const [, fp] = await waitForOutput(server, 'stderr', /server certificate fingerprint: (sha256:[0-9A-F:]{95})/);
      fingerprints.push(fp!);
      if (i === 1) {
        // After the restart a client pinned to the first start's fingerprint still connects; another pin fails.
        const [, bindPort] = /server listening addr=127\.0\.0\.1:(\d+)/.exec(server.stderr())!;
        const echo = await startEcho();
        const pinned = run(['tcp', String(echo.port), '--server', `127.0.0.1:${bindPort}`, '--token', 't', '--fingerprint', fingerprints[0]!]);
        await waitForOutput(pinned, 'stderr', /\[tcp-\d+\] start proxy success type=tcp/);
        pinned.child.kill('SIGTERM');
        assert.equal(await pinned.exit, 0);
        const wrong = run(['tcp', String(echo.port), '--server', `127.0.0.1:${bindPort}`, '--token', 't', '--fingerprint', `sha256:${'00'.repeat(32)}`]);
        assert.equal(await wrong.exit, 1);
        assert.match(wrong.stderr(), /not the one pinned by transport\.tls\.serverFingerprint: expected sha256:0{64}, the server presented sha256:/);
        await echo.close();
      }
      server.child.kill('SIGTERM');
      assert.equal(await server.exit, 0);
    }
    assert.equal(fingerprints[0], fingerprints[1], 'a restart keeps the certificate');
    const dir = dirname(serverCfg);
    for (const f of ['burrow-server-cert.pem', 'burrow-server-key.pem']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
  });

  test('legacy frps.ini and frpc.ini as in the tutorials run unchanged', async () => {
    const echo = await startEcho();
    const serverIni = writeConfig('frps.ini', `[common]\nbind_addr = 127.0.0.1\nbind_port = 0\ntoken = abc#123\n`);
    const server = run(['server', '-c', serverIni]);
    const [, bindPort] = await waitForOutput(server, 'stderr', /server listening addr=127\.0\.0\.1:(\d+)/);
    const clientIni = writeConfig(
      'frpc.ini',
      [
        '# the NAS example: comments only at the start of a line',
        '[common]',
        'server_addr = 127.0.0.1',
        `server_port = ${bindPort}`,
        'token = abc#123',
        '',
        '[ssh]',
        'type = tcp',
        'local_ip = 127.0.0.1',
        `local_port = ${echo.port}`,
        'remote_port = 0',
        'use_encryption = true',
        '',
        '[web]',
        'type = http',
        `local_port = ${echo.port}`,
        'custom_domains = nas.example.com',
        '',
      ].join('\n'),
    );
    const client = run(['client', '-c', clientIni]);
    const [, remote] = await waitForOutput(client, 'stderr', /\[ssh\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);
    // The server has no vhostHTTPPort: the http proxy is refused with the reason, the tcp one serves.
    await waitForOutput(client, 'stderr', /proxy failed to start .*proxy=web .*vhostHTTPPort is not set/);
    const data = patternBytes(200_000, 13);
    assert.ok((await echoThrough(portOf(remote!), data)).equals(data));
    for (const r of [client, server]) {
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    }
    await echo.close();
  });

  test('SIGHUP reloads the client file; a broken file is refused and the tunnel keeps serving', async () => {
    const echo = await startEcho();
    const server = await startServer();
    const base = `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "test-token"\n\n[[proxies]]\nname = "first"\nlocalPort = ${echo.port}\n`;
    const cfg = writeConfig('frpc.toml', base);
    const client = run(['client', '-c', cfg]);
    const [, first] = await waitForOutput(client, 'stderr', /\[first\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);

    writeFileSync(cfg, base + `\n[[proxies]]\nname = "second"\nlocalPrt = 1\n`);
    client.child.kill('SIGHUP');
    await waitForOutput(client, 'stderr', /reload refused, the running configuration is unchanged: [\s\S]*proxies\[1\]\.localPrt: unknown key/);
    const data = patternBytes(50_000, 17);
    assert.ok((await echoThrough(portOf(first!), data)).equals(data));

    writeFileSync(cfg, base + `\n[[proxies]]\nname = "second"\nlocalPort = ${echo.port}\n`);
    client.child.kill('SIGHUP');
    const [, second] = await waitForOutput(client, 'stderr', /\[second\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);
    assert.ok((await echoThrough(portOf(second!), data)).equals(data));
    assert.ok((await echoThrough(portOf(first!), data)).equals(data));

    client.child.kill('SIGTERM');
    assert.equal(await client.exit, 0);
    await server.stop();
    await echo.close();
  });

  test('`burrow client reload -c` asks the running client to re-read its file through the admin API', async () => {
    const echo = await startEcho();
    const server = await startServer();
    // webServer.port 0 means "off" in frp, so the OS picks a free port first.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const adminPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const base = `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "test-token"\nwebServer.port = ${adminPort}\nwebServer.user = "u"\nwebServer.password = "p"\n\n[[proxies]]\nname = "first"\nlocalPort = ${echo.port}\n`;
    const cfg = writeConfig('frpc.toml', base);
    const client = run(['client', '-c', cfg]);
    await waitForOutput(client, 'stderr', /\[first\] start proxy success/);
    writeFileSync(cfg, base + `\n[[proxies]]\nname = "second"\nlocalPort = ${echo.port}\n`);
    const reload = run(['client', 'reload', '-c', cfg]);
    assert.equal(await reload.exit, 0, reload.stderr());
    assert.match(reload.stdout(), /reloaded: .*"added":\["second"\]/);
    const [, second] = await waitForOutput(client, 'stderr', /\[second\] start proxy success type=tcp remote=127\.0\.0\.1(:\d+)/);
    const data = patternBytes(20_000, 19);
    assert.ok((await echoThrough(portOf(second!), data)).equals(data));
    client.child.kill('SIGTERM');
    assert.equal(await client.exit, 0);
    await server.stop();
    await echo.close();
  });

  test('`burrow http` exposes a web service by name and records its requests for the inspector', async () => {
    const vhostPort = await freePort();
    const server = await startServer({ vhostHTTPPort: vhostPort, subDomainHost: 'example.test' });
    const web = createHttpServer((req, res) => res.end(`local saw ${req.method} ${req.url}`));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    const webPort = (web.address() as AddressInfo).port;
    const r = run(['http', String(webPort), '--server', `127.0.0.1:${server.port}`, '--token', TOKEN, '--subdomain', 'hook', '--inspect-port', '0']);
    const [, inspectUrl] = await waitForOutput(r, 'stdout', /inspect +(http:\/\/127\.0\.0\.1:\d+\/)#inspect/);
    await waitForOutput(r, 'stderr', /\[http-\d+\] start proxy success/);
    const answer = await vhostRequest(vhostPort, 'hook.example.test', '/wechat?x=1', { method: 'POST', body: 'ping' });
    assert.equal(answer.body.toString(), 'local saw POST /wechat?x=1');
    const list = (await (await fetch(`${inspectUrl!}api/requests`)).json()) as { requests: Array<{ method: string; target: string; status: number }> };
    assert.deepEqual(
      list.requests.map((q) => [q.method, q.target, q.status]),
      [['POST', '/wechat?x=1', 200]],
    );
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
    await server.stop();
    web.close();
  });
});
