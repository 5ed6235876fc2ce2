import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { ClientHelloReader, type ClientHelloInfo } from '../../src/vhost/sni.js';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng } from '../helpers/random.js';
import { u16 } from '../helpers/bytes.js';

/** Reads from `socket` through a ClientHelloReader until it has a result. */
function readHello(socket: net.Socket, reader: ClientHelloReader): Promise<ClientHelloInfo> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      try {
        const result = reader.push(chunk);
        if (result === undefined) return;
        socket.off('data', onData);
        socket.pause();
        resolve(result);
      } catch (err) {
        reject(err);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** The bytes Node's TLS client really sends first, captured on a plain TCP server. */
async function captureClientHello(opts: tls.ConnectionOptions): Promise<{ bytes: Buffer; info: ClientHelloInfo }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, ...opts });
  client.on('error', () => {
    // We hang up on it mid-handshake on purpose.
  });
  const [socket] = await accepted;
  try {
    const reader = new ClientHelloReader();
    const info = await readHello(socket, reader);
    return { bytes: reader.buffered(), info };
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
}

function pushAll(pieces: Buffer[]): ClientHelloInfo | undefined {
  const reader = new ClientHelloReader();
  let result: ClientHelloInfo | undefined;
  for (const piece of pieces) result = reader.push(piece) ?? result;
  return result;
}

/** Re-frames a single-record ClientHello into records of at most `size` handshake bytes. */
function reframe(hello: Buffer, size: number): Buffer {
  const handshake = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const records: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const fragment = handshake.subarray(i, i + size);
    records.push(Buffer.from([0x16, 0x03, 0x01]), u16(fragment.length), fragment);
  }
  return Buffer.concat(records);
}

/** A minimal ClientHello record with the given extensions block. */
function syntheticHello(extensions: Buffer | undefined): Buffer {
  const parts: Buffer[] = [Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0])];
  if (extensions !== undefined) parts.push(u16(extensions.length), extensions);
  const body = Buffer.concat(parts);
  const handshake = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(handshake.length), handshake]);
}

function sniExtension(...names: Array<string | Buffer>): Buffer {
  const entries = names.map((n) => {
    const bytes = typeof n === 'string' ? Buffer.from(n, 'latin1') : n;
    return Buffer.concat([Buffer.from([0]), u16(bytes.length), bytes]);
  });
  const list = Buffer.concat(entries);
  const data = Buffer.concat([u16(list.length), list]);
  return Buffer.concat([u16(0), u16(data.length), data]);
}

test('SNI from a real Node ClientHello, in one piece, byte by byte, and in random pieces', async () => {
  const { bytes, info } = await captureClientHello({ servername: 'a.example.com' });
  assert.equal(info.serverName, 'a.example.com');
  assert.equal(bytes[0], 0x16);
  assert.deepEqual(pushAll([bytes]), { serverName: 'a.example.com', alpnProtocols: [] });
  assert.deepEqual(pushAll([...bytes].map((b) => Buffer.from([b]))), { serverName: 'a.example.com', alpnProtocols: [] });
  const rand = prng(11);
  for (let round = 0; round < 100; round += 1) {
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; ) {
      const n = 1 + rand(200);
      pieces.push(bytes.subarray(i, i + n));
      i += n;
    }
    assert.deepEqual(pushAll(pieces), { serverName: 'a.example.com', alpnProtocols: [] }, `round ${round}`);
  }
});

test('a ClientHello spanning several TLS records gives the same name', async () => {
  const { bytes } = await captureClientHello({ servername: 'Multi.Record.Example.COM' });
  for (const size of [1, 7, 100, 512]) {
    const split = reframe(bytes, size);
    assert.deepEqual(pushAll([split]), { serverName: 'multi.record.example.com', alpnProtocols: [] }, `fragments of ${size}`);
    assert.deepEqual(
      pushAll([...split].map((b) => Buffer.from([b]))),
      { serverName: 'multi.record.example.com', alpnProtocols: [] },
      `fragments of ${size}, byte by byte`,
    );
  }
});

test('a client connecting by IP sends no SNI: the result says so', async () => {
  const { info } = await captureClientHello({});
  assert.deepEqual(info, { serverName: undefined, alpnProtocols: [] });
});

test('peeked bytes, forwarded untouched, complete a real TLS handshake with the backend', async () => {
  const { cert, key } = generateSelfSignedCertificate({ commonName: 'a.example.com' });
  const backend = tls.createServer({ cert, key }, (s) => s.end(`hello ${s.servername || 'nobody'}`));
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  let routedName: string | undefined;
  const sockets: net.Socket[] = [];
  const front = net.createServer((socket) => {
    sockets.push(socket);
    const reader = new ClientHelloReader();
    readHello(socket, reader).then(
      (info) => {
        routedName = info.serverName;
        const upstream = net.connect((backend.address() as net.AddressInfo).port, '127.0.0.1');
        sockets.push(upstream);
        upstream.write(reader.buffered());
        socket.pipe(upstream).pipe(socket);
      },
      () => socket.destroy(),
    );
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  try {
    const client = tls.connect({ port: (front.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'a.example.com', rejectUnauthorized: false });
    let text = '';
    client.setEncoding('utf8');
    client.on('data', (d: string) => (text += d));
    await once(client, 'end');
    client.destroy();
    assert.equal(text, 'hello a.example.com');
    assert.equal(routedName, 'a.example.com');
  } finally {
    for (const s of sockets) s.destroy();
    front.close();
    backend.close();
  }
});

test('synthetic hellos: no extensions, other extensions only, trailing dot, upper case', () => {
  assert.deepEqual(pushAll([syntheticHello(undefined)]), { serverName: undefined, alpnProtocols: [] });
  assert.deepEqual(pushAll([syntheticHello(Buffer.concat([u16(0x000a), u16(2), Buffer.from([0, 0])]))]), { serverName: undefined, alpnProtocols: [] });
  assert.deepEqual(pushAll([syntheticHello(sniExtension('WWW.Example.com.'))]), { serverName: 'www.example.com', alpnProtocols: [] });
});

test('malformed or oversized ClientHellos raise BURROW_TLS_BAD_CLIENT_HELLO', () => {
  const bad = (bytes: Buffer, label: string): void => {
    assert.throws(
      () => pushAll([bytes]),
      (err: unknown) => isBurrowError(err, 'BURROW_TLS_BAD_CLIENT_HELLO'),
      label,
    );
  };
  bad(Buffer.from('GET / HTTP/1.1\r\n'), 'plain HTTP');
  bad(Buffer.from([0x15, 3, 1, 0, 2, 2, 40]), 'an alert record');
  bad(Buffer.from([0x16, 3, 1, 0, 0]), 'an empty record');
  bad(Buffer.from([0x16, 3, 1, 0x48, 0x01]), 'a record over 16 KiB');
  bad(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0]), 'a ServerHello');
  bad(Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 0x50, 0]), 'a ClientHello announcing 20 KiB');
  bad(syntheticHello(sniExtension('a.com', 'b.com')), 'two host names');
  bad(syntheticHello(sniExtension('')), 'an empty host name');
  bad(syntheticHello(sniExtension('bad name.com')), 'a space in the name');
  bad(syntheticHello(sniExtension(Buffer.from('caf\xc3\xa9.com', 'latin1'))), 'non-ASCII name');
  bad(syntheticHello(Buffer.concat([sniExtension('a.com'), sniExtension('b.com')])), 'two server_name extensions');
  // An extension whose length runs past the block.
  bad(syntheticHello(Buffer.concat([u16(0x000a), u16(50), Buffer.from([0, 0])])), 'a truncated extension');

  // Tiny records: the bytes held stay bounded even while the hello never completes.
  const header = Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 0x3f, 0xf0]);
  const reader = new ClientHelloReader();
  reader.push(header);
  let held = header.length;
  assert.throws(
    () => {
      for (;;) {
        reader.push(Buffer.from([0x16, 3, 1, 0, 1, 0xaa]));
        held += 6;
        assert.ok(held < 40_000, 'gave up in time');
      }
    },
    (err: unknown) => isBurrowError(err, 'BURROW_TLS_BAD_CLIENT_HELLO') && /within \d+ bytes/.test(err.message),
  );
});

test('ALPN protocols are read beside the name (a TLS-ALPN-01 check offers acme-tls/1), and a malformed list is refused', () => {
  const names = ['acme-tls/1', 'h2'].map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')]));
  const list = Buffer.concat(names);
  const alpn = Buffer.concat([u16(0x10), u16(list.length + 2), u16(list.length), list]);
  const hello = syntheticHello(Buffer.concat([sniExtension('shop.test'), alpn]));
  assert.deepEqual(new ClientHelloReader().push(hello), { serverName: 'shop.test', alpnProtocols: ['acme-tls/1', 'h2'] });
  const truncated = Buffer.concat([u16(0x10), u16(3), u16(5), Buffer.from([4])]);
  assert.throws(() => new ClientHelloReader().push(syntheticHello(truncated)), { code: 'BURROW_TLS_BAD_CLIENT_HELLO' });
  const twice = syntheticHello(Buffer.concat([alpn, alpn]));
  assert.throws(() => new ClientHelloReader().push(twice), { code: 'BURROW_TLS_BAD_CLIENT_HELLO' });
});
