import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSocks5Plugin } from '../../src/plugin/socks5.js';
import { socks5Connect } from '../../src/transport/socks5.js';
import { servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

/** Writes `bytes`, collects what comes back until the plugin closes. */
function exchange(port: number, bytes: number[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const got: number[] = [];
    sock.on('data', (c: Buffer) => got.push(...c));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.write(Buffer.from(bytes));
  });
}

describe('plugin socks5', () => {
  let echo: net.Server;
  let echoPort = 0;
  let harness: PluginHarness;
  let open: PluginHarness;
  let lines: string[];

  before(async () => {
    echo = net.createServer((s) => s.pipe(s));
    echoPort = await new Promise<number>((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as net.AddressInfo).port)));
    const t = testContext();
    lines = t.lines;
    harness = await servePlugin(createSocks5Plugin({ type: 'socks5', username: 'abc', password: '123' }, t.context), {}, true);
    open = await servePlugin(createSocks5Plugin({ type: 'socks5' }, testContext().context));
  });

  after(async () => {
    await harness.close();
    await open.close();
    await new Promise((r) => echo.close(r));
  });

  it('connects with the right user and password and relays bytes (our own SOCKS5 client)', async () => {
    const sock = net.connect(harness.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    await socks5Connect(sock, { kind: 'socks5', host: '127.0.0.1', port: harness.port, auth: { user: 'abc', password: '123' } }, '127.0.0.1', echoPort, 5000);
    sock.write('ping');
    const back = await new Promise<string>((r) => sock.once('data', (c: Buffer) => r(c.toString())));
    assert.equal(back, 'ping');
    sock.destroy();
  });

  it('refuses a visitor that offers no user/password method (0xff)', async () => {
    assert.deepEqual(await exchange(harness.port, [5, 1, 0]), [5, 0xff]);
  });

  it('refuses a wrong password with auth status 1', async () => {
    const user = [...Buffer.from('abc')];
    const pass = [...Buffer.from('bad')];
    assert.deepEqual(await exchange(harness.port, [5, 1, 2, 1, user.length, ...user, pass.length, ...pass]), [5, 2, 1, 1]);
    assert.ok(!lines.some((l) => l.includes('bad') && l.includes('password=')), 'no password in the log');
  });

  it('answers command not supported (7) to BIND and address type not supported (8)', async () => {
    assert.deepEqual((await exchange(open.port, [5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80])).slice(0, 4), [5, 0, 5, 7]);
    assert.deepEqual((await exchange(open.port, [5, 1, 0, 5, 1, 0, 9])).slice(0, 4), [5, 0, 5, 8]);
  });

  it('answers connection refused (5) for a closed port, and closes a non-SOCKS5 greeting silently', async () => {
    const probe = net.createServer();
    const dead = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as net.AddressInfo).port)));
    await new Promise((r) => probe.close(r));
    const reply = await exchange(open.port, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, dead >> 8, dead & 0xff]);
    assert.deepEqual(reply.slice(0, 4), [5, 0, 5, 5]);
    assert.deepEqual(await exchange(open.port, [...Buffer.from('GET / HTTP/1.1\r\n\r\n')]), []);
  });
});
