import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort, makeClient, startEcho, startServer } from '../helpers/tunnel.js';

/** Sends a CONNECT and returns the socket with everything received so far once the answer head is in. */
async function connectVia(port: number, target: string, auth?: string): Promise<{ head: string; send(s: string): Promise<string>; close(): void }> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  s.on('error', () => {});
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString('latin1')));
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth ? `Proxy-Authorization: Basic ${Buffer.from(auth).toString('base64')}\r\n` : ''}\r\n`);
  while (!text.includes('\r\n\r\n')) await Promise.race([once(s, 'data'), once(s, 'close')]);
  const head = text.slice(0, text.indexOf('\r\n\r\n') + 4);
  text = text.slice(head.length);
  return {
    head,
    async send(msg: string) {
      s.write(msg);
      while (text.length < msg.length) await once(s, 'data');
      const got = text;
      text = '';
      return got;
    },
    close: () => s.destroy(),
  };
}

test('tcpmux: CONNECT host:port routes by host, with Proxy-Authorization when configured', async () => {
  const echo = await startEcho();
  const server = await startServer({ tcpmuxHTTPConnectPort: await freePort() });
  const client = makeClient(server.port, {
    proxies: [
      { name: 'm1', type: 'tcpmux', multiplexer: 'httpconnect', localPort: echo.port, customDomains: ['db.internal'] },
      { name: 'm2', type: 'tcpmux', multiplexer: 'httpconnect', localPort: echo.port, customDomains: ['secret.internal'], httpUser: 'u', httpPassword: 'p' },
    ],
  });
  try {
    await client.start();
    await client.waitForProxy('m1');
    await client.waitForProxy('m2');
    const port = server.vhostTcpmuxPort;

    const ok = await connectVia(port, 'db.internal:5432');
    assert.equal(ok.head, 'HTTP/1.1 200 OK\r\n\r\n');
    assert.equal(await ok.send('bytes after CONNECT'), 'bytes after CONNECT');
    ok.close();

    const denied = await connectVia(port, 'secret.internal:22', 'u:wrong');
    assert.match(denied.head, /^HTTP\/1\.1 407 /);
    assert.match(denied.head, /Proxy-Authenticate: Basic realm="Restricted"/i);
    denied.close();

    const allowed = await connectVia(port, 'secret.internal:22', 'u:p');
    assert.equal(allowed.head, 'HTTP/1.1 200 OK\r\n\r\n');
    assert.equal(await allowed.send('in'), 'in');
    allowed.close();

    const unknown = await connectVia(port, 'nobody.internal:1');
    assert.match(unknown.head, /^HTTP\/1\.1 404 /);
    unknown.close();
  } finally {
    client.stop();
    await server.stop();
    await echo.close();
  }
});
