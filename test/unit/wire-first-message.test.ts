import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { encodeMessage } from '../../src/protocol/codec.js';
import { V2FrameDecoder, V2FrameType, V2_MAGIC, encodeV2Frame, encodeV2Message } from '../../src/protocol/wire-v2.js';
import { acceptServerHello, encodeClientHello } from '../../src/protocol/wire-v2-hello.js';
import { readFirstMessage } from '../../src/server/first-message.js';
import { wireOf } from '../../src/control/wire-mark.js';
import { readOne } from '../../src/control/message-io.js';

/** A connected pair of real sockets on 127.0.0.1: [server side, client side]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection');
  const client = connect({ host: '127.0.0.1', port, noDelay: true });
  const [serverSide] = (await accepted) as [Socket];
  server.close();
  serverSide.pause();
  return [serverSide, client];
}

/** Writes `bytes` one at a time, each in its own segment as far as the kernel allows. */
async function trickle(socket: Socket, bytes: Buffer): Promise<void> {
  for (const b of bytes) {
    socket.write(Buffer.from([b]));
    await new Promise((r) => setTimeout(r, 0));
  }
}

test('v1, one byte at a time: the message, and what follows it left in the stream', async () => {
  const [server, client] = await socketPair();
  const first = readFirstMessage(server, 5000);
  await trickle(client, Buffer.concat([encodeMessage({ type: 'NewWorkConn', body: { run_id: 'r1' } }), Buffer.from('after')]));
  const got = await first;
  assert.equal(got.wire, 'v1');
  assert.equal(got.msg.type, 'NewWorkConn');
  assert.equal(wireOf(server), 'v1');
  const rest = await new Promise<Buffer>((resolve) => server.once('readable', () => resolve(server.read() as Buffer)));
  assert.equal(rest.toString(), 'after');
  client.destroy();
  server.destroy();
});

test('v2 without hello (a work connection), one byte at a time', async () => {
  const [server, client] = await socketPair();
  const first = readFirstMessage(server, 5000);
  await trickle(client, Buffer.concat([V2_MAGIC, encodeV2Message({ type: 'NewWorkConn', body: { run_id: 'r2' } })]));
  const got = await first;
  assert.equal(got.wire, 'v2');
  assert.equal(got.crypto, undefined);
  assert.equal(got.msg.type === 'NewWorkConn' && got.msg.body.run_id, 'r2');
  assert.equal(wireOf(server), 'v2');
  client.destroy();
  server.destroy();
});

test('v2 with hello: the ServerHello is answered before the Login is read; both ends derive the same context', async () => {
  const [server, client] = await socketPair();
  client.pause();
  const hello = encodeClientHello({ transport: 'tcp', tls: false, tcpMux: false });
  const first = readFirstMessage(server, 5000);
  await trickle(
    client,
    Buffer.concat([V2_MAGIC, encodeV2Frame(V2FrameType.ClientHello, hello), encodeV2Message({ type: 'Login', body: { version: '0.70.1' } })]),
  );
  const got = await first;
  const serverHello = await readOne(client, new V2FrameDecoder(), 5000, 'ServerHello');
  const ctx = acceptServerHello(hello, serverHello.payload);
  assert.equal(got.msg.type, 'Login');
  assert.deepEqual(got.crypto, ctx);
  client.destroy();
  server.destroy();
});

test('bytes that start like the magic and then differ are read as v1 (and refused as such)', async () => {
  const [server, client] = await socketPair();
  // Refused at the first byte that is not a v1 type ("F"), once the magic is ruled out at the fifth.
  const refused = assert.rejects(readFirstMessage(server, 5000), /unknown message type byte 0x46/);
  await trickle(client, Buffer.from('FRP\x00\x01\r\n'));
  await refused;
  client.destroy();
  server.destroy();
});
