import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { echoThrough, makeClient, patternBytes, portOf, startEcho, tcpProxy, tunnelKit, waitFor } from '../helpers/tunnel.js';

const UPGRADE_REQUEST =
  'GET /~!frp HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Opens a websocket on the bind port by hand (`GET /~!frp`) and waits for the 101 answer. */
async function rawWebSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(UPGRADE_REQUEST);
  let head = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before the upgrade answer: ${head}`)));
  });
  assert.match(head, /^HTTP\/1\.1 101 /);
  return socket;
}

/** A masked client frame; `first` is the FIN/RSV/opcode byte. */
function clientFrame(first: number, payload: Buffer): Buffer {
  assert.ok(payload.length < 126);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([first, 0x80 | payload.length]), mask, masked]);
}

/** The server must still serve a real tunnel after the bad peer. */
async function assertStillServing(serverPort: number): Promise<void> {
  const echo = await startEcho();
  const client = makeClient(serverPort, { proxies: [tcpProxy('after', echo.port)] });
  await client.start();
  const proxy = await client.waitForProxy('after');
  const data = patternBytes(50_000, 7);
  assert.ok((await echoThrough(portOf(proxy.remoteAddr), data)).equals(data));
  client.stop();
  await echo.close();
}

describe('bind port: a malformed peer cannot crash the server', () => {
  for (const [name, first] of [
    ['RSV2 and RSV3 set', 0x82 | 0x30],
    ['RSV1 set without deflate', 0x82 | 0x40],
    ['an unknown opcode', 0x83],
  ] as const) {
    test(`a websocket frame with ${name} closes that connection only`, async (t) => {
      const { startServer } = tunnelKit(t);
      const server = await startServer();
      const socket = await rawWebSocket(server.port);
      // First a valid frame so the sniff inside the websocket is done and the stream handed to the server.
      // A yamux WindowUpdate+SYN opening stream 1: a live session.
      socket.write(clientFrame(0x82, Buffer.from([0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00])));
      socket.write(clientFrame(first, Buffer.from('xx')));
      await once(socket, 'close');
      await assertStillServing(server.port);
      await server.stop();
    });
  }

  test('an upgrade and a malformed frame in one packet close that connection only', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    // The frame rides behind the request head, so ws parses it before anyone awaited the stream.
    socket.write(Buffer.concat([Buffer.from(UPGRADE_REQUEST, 'latin1'), clientFrame(0x82 | 0x30, Buffer.from('xx'))]));
    const answer: Buffer[] = [];
    socket.on('data', (c: Buffer) => answer.push(c));
    await once(socket, 'close');
    assert.match(Buffer.concat(answer).toString('latin1'), /^HTTP\/1\.1 101 /);
    await waitFor(() => server.activeConnections === 0, 'the bad connection to be gone');
    await assertStillServing(server.port);
    await server.stop();
  });

  test('a malformed websocket frame on a control connection without tcpMux', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ transport: { tcpMux: false } });
    const socket = await rawWebSocket(server.port);
    socket.write(clientFrame(0x82, Buffer.from([0x6f, 0, 0, 0, 0, 0, 0, 0, 2, 0x7b])));
    socket.write(clientFrame(0x82 | 0x30, Buffer.from('xx')));
    await once(socket, 'close');
    await waitFor(() => server.activeConnections === 0, 'the bad connection to be gone');
    await server.stop();
  });
});

describe('bind port: broken layers under the frp bytes', () => {
  test('a malformed websocket frame under TLS inside the websocket closes that connection only', async (t) => {
    const { startServer } = tunnelKit(t);
    const { openClientWebSocket } = await import('../../src/transport/websocket.js');
    const { startClientTls } = await import('../../src/transport/tls.js');
    const server = await startServer();
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const ws = await openClientWebSocket(socket, '127.0.0.1', '127.0.0.1', 5000);
    ws.on('error', () => {});
    const secure = await startClientTls(ws, { host: '127.0.0.1', port: server.port }, { customFirstByte: true }, 5000);
    secure.on('error', () => {});
    secure.write(Buffer.from([0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]));
    await waitFor(() => server.activeConnections === 1, 'the connection to be handed to the server');
    // Straight onto the TCP socket, under the client's own websocket framing.
    socket.write(clientFrame(0x82 | 0x30, Buffer.from('xx')));
    await once(socket, 'close');
    await waitFor(() => server.activeConnections === 0, 'the bad connection to be gone');
    await assertStillServing(server.port);
    await server.stop();
  });

  test('a 0x17 marker followed by bytes that are not TLS is refused and logged', async (t) => {
    const { startServer } = tunnelKit(t);
    const { captureLog } = await import('../helpers/tunnel.js');
    const log = captureLog();
    const server = await startServer({}, log.logger);
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    socket.resume();
    await once(socket, 'connect');
    socket.write(Buffer.concat([Buffer.from([0x17]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]));
    await once(socket, 'close');
    await log.waitForLine(/TLS handshake from 127\.0\.0\.1:\d+ failed/);
    await assertStillServing(server.port);
    await server.stop();
  });
});
