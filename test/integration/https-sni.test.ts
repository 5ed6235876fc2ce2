import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { makeClient, startServer, freePort } from '../helpers/tunnel.js';

/** A real TLS backend that answers with its name and echoes. */
async function tlsBackend(name: string): Promise<{ server: tls.Server; port: number }> {
  const cert = generateSelfSignedCertificate({ commonName: `${name}.secure.test` });
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
    s.on('error', () => {});
    s.write(`${name}:${s.servername ?? ''}\n`);
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function dialTls(port: number, servername?: string): Promise<{ socket: tls.TLSSocket; first: string } | 'closed'> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    socket.once('error', () => resolve('closed'));
    socket.once('close', () => resolve('closed'));
    socket.once('data', (d: Buffer) => resolve({ socket, first: d.toString() }));
  });
}

test('https proxies route by the TLS server name without terminating TLS', async () => {
  const a = await tlsBackend('A');
  const b = await tlsBackend('B');
  const server = await startServer({ vhostHTTPSPort: await freePort() });
  const client = makeClient(server.port, {
    proxies: [
      { name: 'sa', type: 'https', localPort: a.port, customDomains: ['a.secure.test'] },
      { name: 'sb', type: 'https', localPort: b.port, customDomains: ['*.b.secure.test'] },
    ],
  });
  try {
    await client.start();
    assert.equal((await client.waitForProxy('sa')).remoteAddr, `a.secure.test:${server.vhostHttpsPort}`);
    await client.waitForProxy('sb');
    const port = server.vhostHttpsPort;

    const ra = await dialTls(port, 'a.secure.test');
    assert.notEqual(ra, 'closed');
    if (ra === 'closed') return;
    assert.equal(ra.first, 'A:a.secure.test\n', 'the backend itself terminated TLS and saw the SNI');
    const echoed = once(ra.socket, 'data');
    ra.socket.write('through the tunnel');
    assert.equal(((await echoed) as [Buffer])[0].toString(), 'through the tunnel');
    ra.socket.destroy();

    const rb = await dialTls(port, 'x.b.secure.test');
    assert.ok(rb !== 'closed' && rb.first === 'B:x.b.secure.test\n');
    rb.socket.destroy();

    assert.equal(await dialTls(port, 'nobody.secure.test'), 'closed', 'unknown name: closed');
    assert.equal(await dialTls(port), 'closed', 'no SNI: closed');

    // Garbage instead of a ClientHello is dropped; the port keeps serving.
    const raw = (await import('node:net')).connect({ host: '127.0.0.1', port });
    raw.on('error', () => {});
    raw.write('GET / HTTP/1.1\r\n\r\n');
    await once(raw, 'close');
    const again = await dialTls(port, 'a.secure.test');
    assert.ok(again !== 'closed' && again.first.startsWith('A:'));
    again.socket.destroy();
  } finally {
    client.stop();
    await server.stop();
    a.server.close();
    b.server.close();
  }
});
