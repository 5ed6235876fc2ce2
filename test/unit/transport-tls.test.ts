import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { tcpTransport, type AcceptedConnection, type DialOptions, type ListenOptions } from '../../src/transport/index.js';
import { generateCertificate, generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { queue, readBytes } from '../helpers/streams.js';

const serverCert = generateSelfSignedCertificate({ commonName: 'localhost' });

async function withListener(
  tlsOptions: Partial<ListenOptions['tls']>,
  body: (ctx: {
    port: number;
    accepted: ReturnType<typeof queue<AcceptedConnection>>;
    errors: ReturnType<typeof queue<{ err: Error; remote: string }>>;
  }) => Promise<void>,
): Promise<void> {
  const accepted = queue<AcceptedConnection>();
  const errors = queue<{ err: Error; remote: string }>();
  const listener = await tcpTransport.listen(
    {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: serverCert.cert, key: serverCert.key, ...tlsOptions },
      onError: (err, remote) => errors.push({ err, remote }),
    },
    accepted.push,
  );
  try {
    await body({ port: listener.port, accepted, errors });
  } finally {
    await listener.close();
  }
}

/**
 * Resolves when the peer hung up: 'end' (dialled sockets allow half-open, so a
 * FIN does not close them) or 'close'. Unlike events.once it does not reject on
 * an 'error' that precedes it.
 */
function closed(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** A refused TLS client either fails the dial or, under TLS 1.3, sees the server hang up right after. */
async function expectRefused(dialing: Promise<Duplex>): Promise<void> {
  let stream: Duplex;
  try {
    stream = await dialing;
  } catch (err) {
    assert.ok(isBurrowError(err, 'BURROW_TLS'), String(err));
    return;
  }
  const done = closed(stream);
  stream.on('error', () => {});
  stream.resume();
  await done;
}

async function roundTrip(client: Duplex, server: Duplex): Promise<void> {
  const up = randomBytes(200_000);
  const down = randomBytes(150_000);
  client.write(up);
  server.write(down);
  const [gotUp, gotDown] = await Promise.all([readBytes(server, up.length), readBytes(client, down.length)]);
  assert.ok(gotUp.equals(up), 'client → server bytes differ');
  assert.ok(gotDown.equals(down), 'server → client bytes differ');
}

for (const customFirstByte of [false, true]) {
  test(`TLS ${customFirstByte ? 'with' : 'without'} the 0x17 first byte is accepted and carries bytes intact`, async () => {
    await withListener({}, async ({ port, accepted, errors }) => {
      const client = await tcpTransport.dial({ host: '127.0.0.1', port, tls: { customFirstByte } });
      assert.ok(client instanceof tls.TLSSocket);
      // Data written the moment the handshake completes must arrive too.
      client.write('hello right after the handshake');
      const conn = await accepted.next();
      assert.equal(conn.tls, true);
      assert.ok(conn.stream instanceof tls.TLSSocket);
      // The handshake timeout must not linger as an idle timeout on the connection.
      assert.ok(!conn.stream.timeout, `idle timeout ${conn.stream.timeout} left on the socket`);
      assert.equal(conn.remoteAddress, '127.0.0.1');
      assert.equal(conn.remotePort, client.localPort);
      assert.equal((await readBytes(conn.stream, 31)).toString(), 'hello right after the handshake');
      await roundTrip(client, conn.stream);
      client.end();
      await once(conn.stream, 'end');
      conn.stream.destroy();
      client.destroy();
      assert.equal(errors.count(), 0);
    });
  });
}

/** Prepends `prefix` to the first write so it shares a TCP segment with the ClientHello. */
function prefixFirstWrite(socket: net.Socket, prefix: Buffer): Duplex {
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      socket.write(first ? Buffer.concat([prefix, chunk]) : chunk, callback);
      first = false;
    },
    read() {
      socket.resume();
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  return duplex;
}

test('0x17 arriving in the same segment as the ClientHello is stripped and the rest kept', async () => {
  await withListener({}, async ({ port, accepted }) => {
    const raw = net.connect(port, '127.0.0.1');
    await once(raw, 'connect');
    const client = tls.connect({ socket: prefixFirstWrite(raw, Buffer.from([0x17])), rejectUnauthorized: false });
    await once(client, 'secureConnect');
    client.write('after');
    const conn = await accepted.next();
    assert.equal(conn.tls, true);
    assert.equal((await readBytes(conn.stream, 5)).toString(), 'after');
    await roundTrip(client, conn.stream);
    client.destroy();
    conn.stream.destroy();
  });
});

test('tls.force refuses a plain client and reports why', async () => {
  await withListener({ force: true }, async ({ port, accepted, errors }) => {
    const client = (await tcpTransport.dial({ host: '127.0.0.1', port })) as net.Socket;
    const localPort = client.localPort;
    const clientClosed = closed(client);
    client.on('error', () => {});
    client.resume();
    client.write('plain text');
    await clientClosed;
    const { err, remote } = await errors.next();
    assert.ok(isBurrowError(err, 'BURROW_TLS'));
    assert.equal(err.message, `plain connection from 127.0.0.1:${localPort} refused: the server requires TLS`);
    assert.equal(remote, `127.0.0.1:${localPort}`);

    // TLS clients are still welcome.
    const secure = await tcpTransport.dial({ host: '127.0.0.1', port, tls: {} });
    secure.write('ok');
    const conn = await accepted.next();
    assert.equal((await readBytes(conn.stream, 2)).toString(), 'ok');
    assert.equal(accepted.count(), 1);
    secure.destroy();
    conn.stream.destroy();
  });
});

test('mutual TLS: only clients with a certificate from the configured CA get through', async () => {
  const ca = generateCertificate({ commonName: 'burrow test CA', isCA: true });
  const server = generateCertificate({ commonName: 'localhost', issuer: ca });
  const goodClient = generateCertificate({ commonName: 'client-good', issuer: ca });
  const otherCa = generateCertificate({ commonName: 'other CA', isCA: true });
  const strangerClient = generateCertificate({ commonName: 'client-stranger', issuer: otherCa });

  const accepted = queue<AcceptedConnection>();
  const errors = queue<{ err: Error; remote: string }>();
  const listener = await tcpTransport.listen(
    {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: server.cert, key: server.key, ca: ca.cert },
      onError: (err, remote) => errors.push({ err, remote }),
    },
    accepted.push,
  );
  const dial = (tlsOptions: DialOptions['tls']): Promise<Duplex> =>
    tcpTransport.dial({ host: '127.0.0.1', port: listener.port, ...(tlsOptions ? { tls: tlsOptions } : {}) });
  try {
    await expectRefused(dial({ ca: ca.cert }));
    const noCert = await errors.next();
    assert.ok(isBurrowError(noCert.err, 'BURROW_TLS'));
    assert.match(noCert.err.message, /sent no certificate, but the server requires one/);

    await expectRefused(dial({ ca: ca.cert, cert: strangerClient.cert, key: strangerClient.key }));
    const stranger = await errors.next();
    assert.ok(isBurrowError(stranger.err, 'BURROW_TLS'));
    assert.match(stranger.err.message, /client certificate/);

    // A CA on the listener implies force: plain is refused as well.
    const plain = await dial(undefined);
    const plainClosed = closed(plain);
    plain.on('error', () => {});
    plain.resume();
    plain.write('x');
    await plainClosed;
    assert.match((await errors.next()).err.message, /refused: the server requires TLS/);

    const client = await dial({ ca: ca.cert, cert: goodClient.cert, key: goodClient.key, serverName: 'localhost' });
    client.write('trusted');
    const conn = await accepted.next();
    const serverSide = conn.stream as tls.TLSSocket;
    assert.equal(serverSide.authorized, true);
    assert.equal(serverSide.getPeerCertificate().subject.CN, 'client-good');
    assert.equal((await readBytes(conn.stream, 7)).toString(), 'trusted');
    await roundTrip(client, conn.stream);
    assert.equal(accepted.count(), 1);
    client.destroy();
    conn.stream.destroy();
  } finally {
    await listener.close();
  }
});

test('with a CA the client verifies the server and rejects a mismatch with BURROW_TLS', async () => {
  const unrelated = generateSelfSignedCertificate({ commonName: 'localhost' });
  await withListener({}, async ({ port, accepted }) => {
    await assert.rejects(tcpTransport.dial({ host: '127.0.0.1', port, tls: { ca: unrelated.cert } }), (err: unknown) => {
      assert.ok(isBurrowError(err, 'BURROW_TLS'));
      assert.match(err.message, new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${port} failed: `));
      return true;
    });
    // Right CA, wrong name.
    await assert.rejects(
      tcpTransport.dial({ host: '127.0.0.1', port, tls: { ca: serverCert.cert, serverName: 'elsewhere.example' } }),
      (err: unknown) => isBurrowError(err, 'BURROW_TLS') && /elsewhere\.example/.test(err.message),
    );
    // Right CA, and the IP address is in the certificate's alt names.
    const ok = await tcpTransport.dial({ host: '127.0.0.1', port, tls: { ca: serverCert.cert } });
    assert.equal((ok as tls.TLSSocket).authorized, true);
    ok.write('v');
    const conn = await accepted.next();
    assert.equal((await readBytes(conn.stream, 1)).toString(), 'v');
    ok.destroy();
    conn.stream.destroy();
  });
});

test('an unusable server certificate fails listen with BURROW_TLS', async () => {
  const other = generateSelfSignedCertificate();
  await assert.rejects(
    tcpTransport.listen({ host: '127.0.0.1', port: 0, tls: { cert: serverCert.cert, key: other.key } }, () => {}),
    (err: unknown) => isBurrowError(err, 'BURROW_TLS'),
  );
  await assert.rejects(
    tcpTransport.listen({ host: '127.0.0.1', port: 0, tls: { cert: 'not a certificate', key: 'nor a key' } }, () => {}),
    (err: unknown) => isBurrowError(err, 'BURROW_TLS'),
  );
});
