import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { parseProxyUrl } from '../../src/transport/proxy-url.js';
import { socks5Connect } from '../../src/transport/socks5.js';
import { isBurrowError } from '../../src/util/errors.js';

/** A scripted SOCKS5 peer: records what the client sent, answers with `replies` in order, chunk by chunk. */
async function scripted(replies: Buffer[]): Promise<{ port: number; received: () => Buffer; close(): void }> {
  const got: Buffer[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let step = 0;
    s.on('data', (c: Buffer) => {
      got.push(c);
      const reply = replies[step++];
      // One byte at a time: the client must not assume a reply arrives whole.
      if (reply) for (const byte of reply) s.write(Buffer.from([byte]));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received: () => Buffer.concat(got), close: () => server.close() };
}

async function run(peerPort: number, url: string, host: string): Promise<net.Socket> {
  const socket = net.connect(peerPort, '127.0.0.1');
  await once(socket, 'connect');
  try {
    await socks5Connect(socket, parseProxyUrl(url.replace('PORT', String(peerPort))), host, 7000, 2000);
  } catch (err) {
    // As the dialler does: a failed handshake's socket is closed by the caller.
    socket.destroy();
    throw err;
  }
  return socket;
}

test('SOCKS5 request encodes IPv4, IPv6 and names, and reads a byte-by-byte reply', async () => {
  for (const [host, encoded] of [
    ['10.1.2.3', '01 0a010203'],
    ['2001:db8::ff', '04 20010db80000000000000000000000ff'],
    ['tunnel.example', `03 0e ${Buffer.from('tunnel.example').toString('hex')}`],
  ] as const) {
    const peer = await scripted([Buffer.from([5, 0]), Buffer.from([5, 0, 0, 3, 4, 0x68, 0x6f, 0x73, 0x74, 0, 80])]);
    const socket = await run(peer.port, 'socks5://127.0.0.1:PORT', host);
    const sent = peer.received().toString('hex');
    assert.equal(sent, `050100050100${encoded.replace(/ /g, '')}1b58`);
    socket.destroy();
    peer.close();
  }
});

test('SOCKS5 failures name the cause: wrong credentials, refused target', async () => {
  const badAuth = await scripted([Buffer.from([5, 2]), Buffer.from([1, 1])]);
  await assert.rejects(run(badAuth.port, 'socks5://u:p@127.0.0.1:PORT', '10.0.0.1'), (err: unknown) => {
    assert.ok(isBurrowError(err, 'BURROW_PROXY_FAILED'));
    assert.match(err.message, /the user and password in the proxy URL were rejected/);
    return true;
  });
  badAuth.close();
  const refused = await scripted([Buffer.from([5, 0]), Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])]);
  await assert.rejects(run(refused.port, 'socks5://127.0.0.1:PORT', '10.0.0.1'), /refused to connect to 10\.0\.0\.1:7000: connection refused$/);
  refused.close();
});
