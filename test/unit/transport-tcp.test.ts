import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { getTransport, tcpTransport, type AcceptedConnection, type ListenOptions } from '../../src/transport/index.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { queue, readBytes } from '../helpers/streams.js';

const certificate = generateSelfSignedCertificate({ commonName: 'localhost' });

function listenOptions(extra: Partial<ListenOptions> = {}): ListenOptions {
  return { host: '127.0.0.1', port: 0, tls: { cert: certificate.cert, key: certificate.key }, ...extra };
}

test('plain dial and accept carry bytes both ways, first byte included', async () => {
  const accepted = queue<AcceptedConnection>();
  const listener = await tcpTransport.listen(listenOptions(), accepted.push);
  try {
    assert.equal(listener.address, '127.0.0.1');
    assert.ok(listener.port > 0);
    const client = (await tcpTransport.dial({ host: '127.0.0.1', port: listener.port })) as net.Socket;
    assert.ok(client instanceof net.Socket);
    // The first byte travels alone, so the sniffer must put it back in front of what follows.
    client.write('P');
    const conn = await accepted.next();
    assert.equal(conn.tls, false);
    assert.equal(conn.remoteAddress, '127.0.0.1');
    assert.equal(conn.remotePort, client.localPort);
    client.write('UT / HTTP/1.1\r\n');

    // A consumer that only attaches 'data' must receive everything.
    const received: Buffer[] = [];
    const want = 'PUT / HTTP/1.1\r\n';
    await new Promise<void>((resolve) => {
      conn.stream.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (Buffer.concat(received).length >= want.length) resolve();
      });
    });
    assert.equal(Buffer.concat(received).toString(), want);

    conn.stream.write('HTTP/1.1 200 OK\r\n');
    assert.equal((await readBytes(client, 17)).toString(), 'HTTP/1.1 200 OK\r\n');
    client.end();
    await once(conn.stream, 'end');
    conn.stream.destroy();
    client.destroy();
  } finally {
    await listener.close();
  }
});

test('dialling a closed port rejects with a readable BURROW_DIAL_FAILED', async () => {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port }), (err: unknown) => {
    assert.ok(isBurrowError(err, 'BURROW_DIAL_FAILED'));
    assert.equal(err.message, `cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    return true;
  });
});

test('bad dial and listen options are refused before touching the network', async () => {
  const invalid = (err: unknown): boolean => isBurrowError(err, 'BURROW_CONFIG_INVALID');
  await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port: 0 }), invalid);
  await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port: 70_000 }), invalid);
  await assert.rejects(tcpTransport.dial({ host: '', port: 7000 }), invalid);
  await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port: 7000, timeoutMs: -1 }), invalid);
  await assert.rejects(
    tcpTransport.listen(listenOptions({ port: -1 }), () => {}),
    invalid,
  );
  await assert.rejects(
    tcpTransport.listen(listenOptions({ sniffTimeoutMs: 0 }), () => {}),
    invalid,
  );
});

test('listening on a port already in use rejects with BURROW_LISTEN_FAILED', async () => {
  const first = await tcpTransport.listen(listenOptions(), () => {});
  try {
    await assert.rejects(
      tcpTransport.listen(listenOptions({ port: first.port }), () => {}),
      (err: unknown) => {
        assert.ok(isBurrowError(err, 'BURROW_LISTEN_FAILED'));
        assert.match(err.message, /address already in use/);
        return true;
      },
    );
  } finally {
    await first.close();
  }
});

test('connectionCount follows open sockets, TLS and plain, back to zero', async () => {
  const accepted = queue<AcceptedConnection>();
  const listener = await tcpTransport.listen(listenOptions(), accepted.push);
  try {
    assert.equal(listener.connectionCount, 0);
    const clients = [
      await tcpTransport.dial({ host: '127.0.0.1', port: listener.port }),
      await tcpTransport.dial({ host: '127.0.0.1', port: listener.port }),
      await tcpTransport.dial({ host: '127.0.0.1', port: listener.port, tls: {} }),
      await tcpTransport.dial({ host: '127.0.0.1', port: listener.port, tls: { customFirstByte: true } }),
    ];
    // Every connection is handed out on its first byte (inside TLS too, where a "G" would mean wss).
    for (const [i, c] of clients.entries()) c.write('abcd'[i]!);
    const conns = await Promise.all(clients.map(() => accepted.next()));
    assert.deepEqual(conns.map((c) => c.tls).sort(), [false, false, true, true]);
    assert.equal(listener.connectionCount, 4);

    const closed = conns.map((c) => {
      c.stream.resume();
      c.stream.on('end', () => c.stream.end());
      return new Promise((resolve) => c.stream.once('close', resolve));
    });
    const clientsClosed = clients.map((c) => {
      c.resume();
      return new Promise((resolve) => c.once('close', resolve));
    });
    for (const client of clients) client.end();
    await Promise.all([...closed, ...clientsClosed]);
    assert.equal(listener.connectionCount, 0);
  } finally {
    await listener.close();
  }
});

test('close() drops connections still being sniffed and keeps handed-out ones', { timeout: 10_000 }, async () => {
  const accepted = queue<AcceptedConnection>();
  // A long sniff timeout: only close() can end the silent connection in time.
  const reported: Error[] = [];
  const listener = await tcpTransport.listen(listenOptions({ sniffTimeoutMs: 600_000, onError: (err) => reported.push(err) }), accepted.push);
  let conn: AcceptedConnection;
  let active: Duplex;
  let silentClosed: Promise<void>;
  try {
    active = await tcpTransport.dial({ host: '127.0.0.1', port: listener.port });
    active.write('x');
    conn = await accepted.next();

    const silent = net.connect(listener.port, '127.0.0.1');
    await once(silent, 'connect');
    silent.on('error', () => {});
    silent.resume();
    silentClosed = new Promise((resolve) => silent.once('close', () => resolve()));
  } finally {
    await listener.close();
  }
  await listener.close(); // idempotent
  await silentClosed;
  await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port: listener.port }), (err: unknown) => isBurrowError(err, 'BURROW_DIAL_FAILED'));

  // The handed-out connection still works after the listener is gone.
  assert.equal((await readBytes(conn.stream, 1)).toString(), 'x');
  conn.stream.write('still here');
  assert.equal((await readBytes(active, 10)).toString(), 'still here');
  active.destroy();
  conn.stream.destroy();
  assert.equal(accepted.count(), 1);
  // Dropping a connection on shutdown is not an error worth reporting.
  assert.deepEqual(reported, []);
});

test('getTransport knows tcp, websocket, wss, kcp and quic, and refuses anything else', () => {
  assert.equal(getTransport('tcp'), tcpTransport);
  assert.equal(tcpTransport.kind, 'tcp');
  assert.equal(getTransport('websocket').kind, 'websocket');
  assert.equal(getTransport('wss').kind, 'wss');
  assert.equal(getTransport('kcp').kind, 'kcp');
  // QUIC's native module is not loaded by asking for the transport, only by using it.
  assert.equal(getTransport('quic').kind, 'quic');
  assert.equal(typeof getTransport('quic').dialSession, 'function');
  assert.throws(() => getTransport('carrier-pigeon'), /^BurrowError: protocol carrier-pigeon is not supported$/);
});
