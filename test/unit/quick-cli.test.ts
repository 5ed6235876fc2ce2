import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, loginFile, readSavedLogin, removeLogin, saveLogin } from '../../src/cli/credentials.js';
import { changeLines, type LiveState, renderScreen, requestLine, type LiveRequest } from '../../src/cli/live-render.js';
import { LIVE_REQUESTS_KEPT, LiveView } from '../../src/cli/live-view.js';
import { resolveConnection } from '../../src/cli/quick-connection.js';
import { cannotName, isNameClash, picksName, proxyName, publicUrl, quickProxy, randomLabel } from '../../src/cli/quick-tunnel.js';
import { renderUnit } from '../../src/cli/service-command.js';

const tempEnv = (): NodeJS.ProcessEnv => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-quick-'));
  return { HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'config') };
};

const state = (over: Partial<LiveState> = {}): LiveState => ({
  kind: 'http',
  connection: 'online',
  detail: '',
  server: 'tunnel.example:7000',
  url: 'http://abc.t.localhost:8080',
  local: '127.0.0.1:3000',
  inspect: 'http://127.0.0.1:4040/#inspect',
  requests: [],
  total: 0,
  ...over,
});

const req = (i: number, over: Partial<LiveRequest> = {}): LiveRequest => ({
  method: 'GET',
  target: `/r${i}`,
  status: 200,
  reason: 'OK',
  durationMs: 12,
  startedAt: Date.UTC(2026, 0, 1, 12, 0, i),
  ...over,
});

/** A terminal as the view sees one: isTTY, a size, 'resize', and everything written kept. */
class FakeTty extends EventEmitter {
  readonly isTTY = true;
  columns = 90;
  rows = 20;
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    this.emit('written');
    return true;
  }
  /** The screen after the last redraw: what follows the last cursor-home, without colour codes. */
  get screen(): string {
    const last = this.text.lastIndexOf('\x1b[H');
    return this.text.slice(last + 3).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  }
}

function redrawn(tty: FakeTty): Promise<void> {
  return new Promise((resolve) => tty.once('written', () => resolve()));
}

describe('live view renderer', () => {
  test('the screen shows the URL, the state, the inspector and the last requests, each within the width', () => {
    const requests = [req(1), req(2, { method: 'POST', status: 502, reason: 'Bad Gateway', durationMs: 2500 })];
    const lines = renderScreen(state({ requests, total: 2 }), { columns: 70, rows: 24 });
    const text = lines.join('\n');
    assert.match(text, /Session Status +online/);
    assert.match(text, /Forwarding +http:\/\/abc\.t\.localhost:8080 -> 127\.0\.0\.1:3000/);
    assert.match(text, /Web Interface +http:\/\/127\.0\.0\.1:4040\/#inspect/);
    assert.match(text, /Requests +2/);
    assert.match(text, /GET +\/r1 +200 OK +12 ms/);
    assert.match(text, /POST +\/r2 +502 Bad Gateway +2\.50 s/);
    for (const l of lines) assert.ok(l.length <= 70, `fits: ${l}`);
  });

  test('a small terminal shows only the newest requests; the total still counts all', () => {
    const requests = Array.from({ length: 30 }, (_, i) => req(i));
    const lines = renderScreen(state({ requests, total: 30 }), { columns: 80, rows: 16 });
    assert.ok(lines.length <= 16, `${lines.length} lines`);
    const text = lines.join('\n');
    assert.match(text, /\/r29 /);
    assert.doesNotMatch(text, /\/r0 /);
    assert.match(text, /Requests +30/);
  });

  test('colour codes do not count toward the width, and a request with no response says why', () => {
    const r = req(1, { status: 0, reason: '', error: 'connection closed' });
    assert.match(requestLine(r), /--- connection closed/);
    const lines = renderScreen(state({ requests: [req(2)], total: 1 }), { columns: 60, rows: 20 }, true);
    assert.ok(lines.some((l) => l.includes('\x1b[32m200 OK\x1b[0m')));
  });

  test('without a terminal: one line per change, none when nothing changed', () => {
    const first = changeLines(undefined, state({ url: '', connection: 'connecting' }));
    assert.deepEqual(first, ['status     connecting', 'inspect    http://127.0.0.1:4040/#inspect   (every request through the tunnel, replay with a click)']);
    const online = state({ url: '' });
    assert.deepEqual(changeLines(state({ url: '', connection: 'connecting' }), online), ['status     online']);
    assert.deepEqual(changeLines(online, state()), ['forwarding http://abc.t.localhost:8080 -> 127.0.0.1:3000']);
    assert.deepEqual(changeLines(state(), state()), []);
  });
});

describe('live view on a (fake) terminal', () => {
  test('draws a screen, redraws it when a request arrives, and restores the cursor on close', async () => {
    const tty = new FakeTty();
    const view = new LiveView(tty, { ...state(), connection: 'connecting', url: '' }, {});
    await redrawn(tty);
    assert.match(tty.text, /^\x1b\[\?25l\x1b\[2J\x1b\[H/, 'hides the cursor and clears the screen first');
    assert.match(tty.screen, /Session Status +connecting/);
    assert.match(tty.screen, /Forwarding +\(waiting for the server\)/);
    view.update({ connection: 'online', url: 'http://abc.t.localhost:8080' });
    view.request(req(7, { method: 'DELETE', target: '/items/7', status: 204, reason: 'No Content' }));
    await redrawn(tty);
    assert.match(tty.screen, /Session Status +online/);
    assert.match(tty.screen, /DELETE +\/items\/7 +204 No Content +12 ms/);
    assert.match(tty.text, /\x1b\[32m204 No Content\x1b\[0m/, 'status in colour on a terminal');
    tty.columns = 40;
    tty.emit('resize');
    await redrawn(tty);
    for (const l of tty.screen.split('\n')) assert.ok(l.length <= 40, `fits the new width: ${l}`);
    view.close();
    assert.ok(tty.text.endsWith('\x1b[?25h\n'));
  });

  test('NO_COLOR turns colour off; the kept requests are bounded', async () => {
    const tty = new FakeTty();
    const view = new LiveView(tty, state(), { NO_COLOR: '1' });
    for (let i = 0; i < LIVE_REQUESTS_KEPT + 50; i++) view.request(req(i % 60));
    await redrawn(tty);
    assert.equal(view.current.requests.length, LIVE_REQUESTS_KEPT);
    assert.equal(view.current.total, LIVE_REQUESTS_KEPT + 50);
    assert.doesNotMatch(tty.text, /\x1b\[3\dm/);
    view.close();
  });

  test('not a terminal: plain lines, no escape codes', () => {
    let out = '';
    const view = new LiveView({ write: (s: string) => (out += s) }, { ...state(), url: '', connection: 'connecting' }, {});
    view.update({ connection: 'online', url: 'http://abc.t.localhost:8080' });
    view.request(req(3));
    view.close();
    assert.doesNotMatch(out, /\x1b/);
    assert.match(out, /status {5}online\nforwarding http:\/\/abc\.t\.localhost:8080 -> 127\.0\.0\.1:3000\n\d\d:\d\d:\d\d {2}GET +\/r3 +200 OK +12 ms\n$/);
  });
});

describe('the tunnel of a one-line command', () => {
  test('random names are DNS labels, unguessable and distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const l = randomLabel();
      assert.match(l, /^[a-z][a-z2-7]{11}$/);
      seen.add(l);
    }
    assert.equal(seen.size, 1000);
  });

  test('a random name only when none is given; the proxy name carries it', () => {
    const spec = { kind: 'http', localIP: '127.0.0.1', localPort: 3000 } as const;
    assert.equal(picksName(spec), true);
    assert.equal(picksName({ ...spec, subdomain: 'x' }), false);
    assert.equal(picksName({ ...spec, domains: ['a.example'] }), false);
    assert.equal(proxyName(spec, 'abc'), 'http-abc');
    assert.equal(proxyName({ ...spec, subdomain: 'x' }, undefined), 'http-3000');
    assert.deepEqual(quickProxy(spec, 'abc'), { name: 'http-abc', type: 'http', localIP: '127.0.0.1', localPort: 3000, inspect: true, subdomain: 'abc' });
    assert.deepEqual(quickProxy({ kind: 'udp', localIP: '127.0.0.1', localPort: 53 }, undefined), {
      name: 'udp-53',
      type: 'udp',
      localIP: '127.0.0.1',
      localPort: 53,
      remotePort: 0,
    });
  });

  test('the URL comes from remote_addr; clashes are told from other refusals', () => {
    assert.equal(publicUrl('http', 'abc.t.localhost:8080', '10.0.0.1'), 'http://abc.t.localhost:8080');
    assert.equal(publicUrl('http', 'abc.example.com,abc.example.com', '10.0.0.1'), 'http://abc.example.com');
    assert.equal(publicUrl('tcp', ':6001', 'tunnel.example'), 'tcp://tunnel.example:6001');
    assert.equal(publicUrl('udp', ':6002', '::1'), 'udp://[::1]:6002');
    assert.ok(isNameClash('proxy [http-abc] already exists'));
    assert.ok(isNameClash('router config conflict'));
    assert.ok(isNameClash('proxy [http-abc]: domain abc.t.localhost is already used by another client'));
    assert.ok(!isNameClash('port not allowed'));
    assert.equal(cannotName(undefined), undefined, 'frps says nothing: its own refusal is shown');
    assert.match(cannotName({ subdomain_host: '', vhost_http_port: 8080 }) ?? '', /subDomainHost/);
    assert.match(cannotName({ subdomain_host: 't.localhost' }) ?? '', /vhostHTTPPort/);
    assert.equal(cannotName({ subdomain_host: 't.localhost', vhost_http_port: 80 }), undefined);
  });
});

describe('saved login', () => {
  test('XDG_CONFIG_HOME, else ~/.config; a relative XDG_CONFIG_HOME is ignored', () => {
    assert.equal(configDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/h' }), '/x/cfg/burrow');
    assert.equal(configDir({ HOME: '/h' }), '/h/.config/burrow');
    assert.equal(configDir({ XDG_CONFIG_HOME: 'rel', HOME: '/h' }), '/h/.config/burrow');
  });

  test('saved 0600 whatever the umask, read back, removed by logout', () => {
    const env = tempEnv();
    const old = process.umask(0o000);
    try {
      saveLogin({ server: 'h:7000', token: 's3cret', tls: true, fingerprint: '', mux: false }, env);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(loginFile(env)).mode & 0o777, 0o600);
    assert.equal(statSync(configDir(env)).mode & 0o777, 0o700);
    assert.deepEqual(readSavedLogin(env), { server: 'h:7000', token: 's3cret', tls: true, fingerprint: '', mux: false });
    assert.equal(removeLogin(env), true);
    assert.equal(readSavedLogin(env), undefined);
    assert.equal(removeLogin(env), false);
  });

  test('a damaged file is an error that names it', () => {
    const env = tempEnv();
    saveLogin({ server: 'h:7000', token: 't', tls: true, fingerprint: '', mux: true }, env);
    writeFileSync(loginFile(env), '{"server": 1');
    assert.throws(() => readSavedLogin(env), /login\.json is not valid JSON/);
  });

  test('flags override the saved login; another server takes nothing from it; no server at all is one clear error', () => {
    const env = tempEnv();
    assert.throws(() => resolveConnection('http', {}, env), /no server; give --server <host:port> \[--token T\], or run "burrow login" once/);
    saveLogin({ server: 'h:7000', token: 'saved', tls: false, fingerprint: 'sha256:ab', mux: true }, env);
    assert.deepEqual(resolveConnection('http', {}, env), { server: 'h:7000', token: 'saved', tls: false, fingerprint: 'sha256:ab', mux: true });
    assert.equal(resolveConnection('http', { token: 'flag' }, env).token, 'flag');
    assert.deepEqual(resolveConnection('http', { server: 'other:7000' }, env), { server: 'other:7000', token: '', tls: true, fingerprint: '', mux: true });
    assert.throws(() => resolveConnection('http', { server: 'nocolon' }, env), /--server must be host:port, got "nocolon"/);
  });
});

describe('systemd unit', () => {
  test('runs the entry script with the config file; the token is not in it; odd paths are quoted', () => {
    const unit = renderUnit({
      role: 'server',
      configFile: '/etc/burrow/my frps%.toml',
      node: '/usr/bin/node',
      script: '/opt/burrow/dist/cli/main.js',
      user: 'burrow',
    });
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/burrow\/dist\/cli\/main\.js server -c "\/etc\/burrow\/my frps%%\.toml"$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^User=burrow$/m);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    const client = renderUnit({ role: 'client', configFile: '/etc/burrow/frpc.toml', node: '/usr/bin/node', script: '/m.js' });
    assert.match(client, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.doesNotMatch(client, /User=|AmbientCapabilities/);
  });
});
