import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { connectionInfoFromStart } from '../../src/plugin/connection-info.js';
import { createTls2RawPlugin } from '../../src/plugin/tls2raw.js';
import { rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

describe('plugin tls2raw', () => {
  let backend: net.Server;
  let received: Buffer[];
  let dials = 0;
  let harness: PluginHarness;

  before(async () => {
    received = [];
    // As frp's e2e: the raw service reads a PROXY v2 header, then an HTTP request, and answers "test".
    backend = net.createServer((s) => {
      dials += 1;
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.includes('\r\n\r\n')) {
          received.push(all);
          s.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntest');
        }
      });
    });
    const port = await new Promise<number>((r) => backend.listen(0, '127.0.0.1', () => r((backend.address() as net.AddressInfo).port)));
    const info = connectionInfoFromStart({ src_addr: '127.0.0.1', src_port: 40000, dst_addr: '127.0.0.1', dst_port: 443 }, 'v2');
    harness = await servePlugin(createTls2RawPlugin({ type: 'tls2raw', localAddr: `127.0.0.1:${port}` }, testContext().context), info, true);
  });

  after(async () => {
    await harness.close();
    await new Promise((r) => backend.close(r));
  });

  it('ends TLS and sends the PROXY v2 header, then the plain bytes', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port: harness.port, servername: 'example.com', rejectUnauthorized: false }, () => {
        sock.write('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
      });
      let text = '';
      sock.on('data', (c: Buffer) => (text += c.toString()));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(answer, /\r\n\r\ntest$/);
    const got = received[0] ?? Buffer.alloc(0);
    assert.deepEqual(got.subarray(0, 12), V2_SIGNATURE);
    assert.equal(got[12], 0x21);
    assert.equal(got[13], 0x11);
    assert.deepEqual([...got.subarray(16, 20)], [127, 0, 0, 1]);
    assert.equal(got.readUInt16BE(24), 40000);
    assert.equal(got.subarray(28).toString(), 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
  });

  it('closes a connection that is not TLS without dialing the local service', async () => {
    const before = dials;
    assert.equal(await rawExchange(harness.port, 'PLAIN TEXT, NOT A CLIENT HELLO\r\n\r\n'), '');
    assert.equal(dials, before);
  });
});
