import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { tcpTransport, type TransportListener } from '../../src/transport/index.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { readFirstByte, routeFirstByte } from '../../src/transport/sniff.js';
import { isBurrowError } from '../../src/util/errors.js';
import { readBytes, socketPair } from '../helpers/streams.js';

const certificate = generateSelfSignedCertificate({ commonName: 'localhost' });

test('the first byte picks the route: 0x17 marked TLS, 0x16 TLS, G websocket, anything else plain', () => {
  assert.equal(routeFirstByte(0x17), 'tls-marked');
  assert.equal(routeFirstByte(0x16), 'tls');
  assert.equal(routeFirstByte(0x47 /* G of GET /~!frp */), 'websocket');
  // frp message types and the yamux version byte stay plain.
  for (const byte of [0x00, 0x15, 0x18, 0x6f /* o: Login */, 0x77 /* w: NewWorkConn */, 0xff]) assert.equal(routeFirstByte(byte), 'plain');
});

test('readFirstByte takes one byte and leaves the rest of the chunk in the socket', async (t) => {
  const [client, server] = await socketPair(t);
  client.write('abc');
  assert.equal(await readFirstByte(server, 5000, 'peer'), 0x61);
  const rest = readBytes(server, 4);
  client.write('de');
  assert.equal((await rest).toString('latin1'), 'bcde');
});

test('readFirstByte reports a peer that closes without sending', async (t) => {
  const [client, server] = await socketPair(t);
  client.end();
  await assert.rejects(readFirstByte(server, 5000, 'peer'), (err: unknown) => {
    assert.ok(isBurrowError(err, 'BURROW_CLOSED'));
    assert.equal(err.message, 'connection from peer closed before sending any data');
    return true;
  });
});

async function listenWithErrors(
  sniffTimeoutMs: number,
): Promise<{ listener: TransportListener; nextError(): Promise<{ err: Error; remote: string }>; accepted(): number }> {
  const errors: Array<{ err: Error; remote: string }> = [];
  let waiter: ((item: { err: Error; remote: string }) => void) | undefined;
  let acceptedCount = 0;
  const listener = await tcpTransport.listen(
    {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: certificate.cert, key: certificate.key },
      sniffTimeoutMs,
      onError(err, remote) {
        if (waiter) {
          waiter({ err, remote });
          waiter = undefined;
        } else errors.push({ err, remote });
      },
    },
    (conn) => {
      acceptedCount++;
      conn.stream.destroy();
    },
  );
  return {
    listener,
    nextError: () => {
      const ready = errors.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => (waiter = resolve));
    },
    accepted: () => acceptedCount,
  };
}

/** A raw client that sends `firstBytes` (maybe nothing) and waits to be dropped. */
async function connectAndWaitForDrop(port: number, firstBytes: Buffer | undefined): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const localPort = socket.localPort ?? 0;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.resume();
  if (firstBytes) socket.write(firstBytes);
  await closed;
  return localPort;
}

test('a client that sends nothing is dropped after sniffTimeoutMs', async () => {
  const { listener, nextError, accepted } = await listenWithErrors(200);
  try {
    const localPort = await connectAndWaitForDrop(listener.port, undefined);
    const { err, remote } = await nextError();
    assert.ok(isBurrowError(err, 'BURROW_TIMEOUT'));
    assert.equal(err.message, `connection from 127.0.0.1:${localPort} sent nothing within 200 ms`);
    assert.equal(remote, `127.0.0.1:${localPort}`);
    assert.equal(accepted(), 0);
  } finally {
    await listener.close();
  }
});

test('a TLS handshake that stalls is dropped after the same timeout', async () => {
  const { listener, nextError, accepted } = await listenWithErrors(200);
  try {
    // A handshake record type with nothing behind it.
    const localPort = await connectAndWaitForDrop(listener.port, Buffer.from([0x16]));
    const { err } = await nextError();
    assert.ok(isBurrowError(err, 'BURROW_TIMEOUT'));
    assert.equal(err.message, `TLS handshake from 127.0.0.1:${localPort} timed out after 200 ms`);
    assert.equal(accepted(), 0);
  } finally {
    await listener.close();
  }
});

test('garbage after a TLS first byte fails the handshake with BURROW_TLS', async () => {
  const { listener, nextError, accepted } = await listenWithErrors(5000);
  try {
    await connectAndWaitForDrop(listener.port, Buffer.from('\x17GET / HTTP/1.1\r\n\r\n', 'latin1'));
    const { err } = await nextError();
    assert.ok(isBurrowError(err, 'BURROW_TLS'), String(err));
    assert.match(err.message, /^TLS handshake from 127\.0\.0\.1:\d+ failed: /);
    assert.equal(accepted(), 0);
  } finally {
    await listener.close();
  }
});

test('a client that connects and hangs up is reported as closed, not as a timeout', async () => {
  const { listener, nextError } = await listenWithErrors(60_000);
  try {
    const socket = net.connect(listener.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end();
    const { err } = await nextError();
    assert.ok(isBurrowError(err, 'BURROW_CLOSED'));
    assert.match(err.message, /closed before sending any data/);
  } finally {
    await listener.close();
  }
});
