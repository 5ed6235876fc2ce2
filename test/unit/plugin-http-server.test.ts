import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { HttpConnectionServer } from '../../src/plugin/http-server.js';
import { asPlainDuplex } from '../helpers/plugin-harness.js';

describe('plugin HTTP server bounds', () => {
  it('closes a kept-alive connection that stays idle, also when it is not a net.Socket', async () => {
    const server = new HttpConnectionServer({ request: (_req, res) => res.end('ok') });
    server.server.keepAliveTimeout = 150;
    const outer = net.createServer((s) => server.handle(asPlainDuplex(s), {}));
    const port = await new Promise<number>((r) => outer.listen(0, '127.0.0.1', () => r((outer.address() as net.AddressInfo).port)));
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString()));
    sock.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const closedAfter = await new Promise<number>((resolve) => {
      const started = Date.now();
      sock.on('close', () => resolve(Date.now() - started));
    });
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.ok(closedAfter < 5000, `closed after ${closedAfter} ms`);
    await server.close();
    await new Promise((r) => outer.close(r));
  });
});
