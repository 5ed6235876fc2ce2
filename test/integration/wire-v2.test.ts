import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { V2FrameDecoder, V2FrameType, V2_MAGIC, encodeV2Frame, encodeV2Message, V2MessageDecoder } from '../../src/protocol/wire-v2.js';
import { ControlChannel } from '../../src/control/control-channel.js';
import { v2ControlCipher } from '../../src/control/control-cipher.js';
import { expectMessage, readOne } from '../../src/control/message-io.js';
import { markWire } from '../../src/control/wire-mark.js';
import type { Message } from '../../src/protocol/messages.js';
import { acceptServerHello } from '../../src/protocol/wire-v2-hello.js';
import { visitor } from '../helpers/config.js';
import {
  captureLog,
  echoThrough,
  freePort,
  makeClient,
  patternBytes,
  startEcho,
  startServer,
  TOKEN,
  waitFor,
  type CapturedLog,
  type EchoService,
} from '../helpers/tunnel.js';
import type { RawProxy } from '../helpers/config.js';
import { UdpPeer, startUdpEcho, type UdpEchoService } from '../helpers/udp.js';

const SK = 'wire-friends';
const v2 = { wireProtocol: 'v2' } as const;

/** A plain socket to the server (no TLS, no mux), all it sends back collected. */
async function rawSocket(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<unknown> }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), closed };
}

for (const tcpMux of [true, false]) {
  describe(`wire protocol v2 (tcpMux ${tcpMux})`, () => {
    let tcpEcho: EchoService;
    let udpEcho: UdpEchoService;
    let server: BurrowServer;
    let ownerV2: BurrowClient;
    let ownerV1: BurrowClient;
    let visitorV1: BurrowClient;
    let visitorV2: BurrowClient;
    let log: CapturedLog;
    let tcpPort: number;
    let udpPort: number;
    const ports: Record<string, number> = {};

    before(async () => {
      log = captureLog();
      tcpEcho = await startEcho();
      udpEcho = await startUdpEcho();
      server = await startServer({ transport: { tcpMux } }, log.logger);
      [tcpPort, udpPort] = await Promise.all([freePort(), freePort()]);
      const secured = { useEncryption: true, useCompression: true };
      const secrets = (suffix: string): RawProxy[] => [
        { name: `stcp-${suffix}`, type: 'stcp', localIP: '127.0.0.1', localPort: tcpEcho.port, secretKey: SK, transport: secured },
        { name: `sudp-${suffix}`, type: 'sudp', localIP: '127.0.0.1', localPort: udpEcho.port, secretKey: SK },
      ];
      ownerV2 = makeClient(server.port, {
        tcpMux,
        extra: { clientID: 'owner-v2', transport: v2 },
        proxies: [
          { name: 'tcp', type: 'tcp', localIP: '127.0.0.1', localPort: tcpEcho.port, remotePort: tcpPort, transport: secured },
          { name: 'udp', type: 'udp', localIP: '127.0.0.1', localPort: udpEcho.port, remotePort: udpPort },
          ...secrets('on-v2'),
        ],
      });
      ownerV1 = makeClient(server.port, { tcpMux, extra: { clientID: 'owner-v1' }, proxies: secrets('on-v1') });
      await Promise.all([ownerV2.start(), ownerV1.start()]);
      for (const name of ['tcp', 'udp', 'stcp-on-v2', 'sudp-on-v2']) await ownerV2.waitForProxy(name);
      for (const name of ['stcp-on-v1', 'sudp-on-v1']) await ownerV1.waitForProxy(name);
      for (const key of ['v1-to-v2-stcp', 'v1-to-v2-sudp', 'v2-to-v1-stcp', 'v2-to-v1-sudp', 'v2-to-v2-stcp', 'v2-to-v2-sudp']) ports[key] = await freePort();
      const secured2 = { transport: secured };
      visitorV1 = makeClient(server.port, {
        tcpMux,
        extra: {
          clientID: 'visitor-v1',
          visitors: [
            visitor('stcp', 'a', 'stcp-on-v2', SK, ports['v1-to-v2-stcp']!, secured2),
            visitor('sudp', 'b', 'sudp-on-v2', SK, ports['v1-to-v2-sudp']!, secured2),
          ],
        },
      });
      visitorV2 = makeClient(server.port, {
        tcpMux,
        extra: {
          clientID: 'visitor-v2',
          transport: v2,
          visitors: [
            visitor('stcp', 'c', 'stcp-on-v1', SK, ports['v2-to-v1-stcp']!, secured2),
            visitor('sudp', 'd', 'sudp-on-v1', SK, ports['v2-to-v1-sudp']!, secured2),
            visitor('stcp', 'e', 'stcp-on-v2', SK, ports['v2-to-v2-stcp']!),
            visitor('sudp', 'f', 'sudp-on-v2', SK, ports['v2-to-v2-sudp']!),
          ],
        },
      });
      await Promise.all([visitorV1.start(), visitorV2.start()]);
    });

    after(async () => {
      for (const c of [visitorV1, visitorV2, ownerV1, ownerV2]) c.stop();
      await server.stop();
      await tcpEcho.close();
      await udpEcho.close();
    });

    test('the server records each client’s framing (the dashboard’s wireProtocol)', async () => {
      // The client may read LoginResp before the server has filed it.
      await waitFor(() => server.clients.length === 4, 'all four clients to be filed');
      const byId = Object.fromEntries(server.clients.map((c) => [c.login.client_id, c.wireProtocol]));
      assert.deepEqual(byId, { 'owner-v2': 'v2', 'owner-v1': 'v1', 'visitor-v1': 'v1', 'visitor-v2': 'v2' });
    });

    test('tcp over a v2 client, encrypted and compressed: 1 MiB byte-exact, 10 at once', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const data = patternBytes(i === 0 ? 1024 * 1024 : 5000 + i, i + 1);
          return (await echoThrough(tcpPort, data)).equals(data);
        }),
      );
      assert.equal(results.filter(Boolean).length, 10);
    });

    test('udp over a v2 client: datagrams come back, a 30 KB one whole', async () => {
      const peer = await UdpPeer.open();
      try {
        for (let n = 0; n < 20; n++) assert.equal((await peer.request(Buffer.from(`datagram ${n}`), udpPort)).toString(), `datagram ${n}`);
        const big = patternBytes(30_000, 3);
        assert.ok((await peer.request(big, udpPort, 2000)).equals(big));
      } finally {
        peer.close();
      }
    });

    for (const path of ['v1-to-v2', 'v2-to-v1', 'v2-to-v2']) {
      test(`stcp visitor ${path.replace(/-to-/, ' → proxy ')}`, async () => {
        const data = patternBytes(200_000, 7);
        assert.ok((await echoThrough(ports[`${path}-stcp`]!, data)).equals(data));
      });

      test(`sudp visitor ${path.replace(/-to-/, ' → proxy ')}`, async () => {
        const peer = await UdpPeer.open();
        try {
          for (let n = 0; n < 10; n++) assert.equal((await peer.request(Buffer.from(`${path} ${n}`), ports[`${path}-sudp`]!)).toString(), `${path} ${n}`);
        } finally {
          peer.close();
        }
      });
    }
  });
}

describe('wire protocol v2: bad input closes one connection', () => {
  let tcpEcho: EchoService;
  let server: BurrowServer;
  let client: BurrowClient;
  let log: CapturedLog;
  let tcpPort: number;

  before(async () => {
    log = captureLog();
    tcpEcho = await startEcho();
    server = await startServer({ transport: { tcpMux: false } }, log.logger);
    tcpPort = await freePort();
    client = makeClient(server.port, {
      tcpMux: false,
      extra: { transport: v2 },
      proxies: [{ name: 'tcp', type: 'tcp', localIP: '127.0.0.1', localPort: tcpEcho.port, remotePort: tcpPort }],
    });
    await client.start();
    await client.waitForProxy('tcp');
  });

  after(async () => {
    client.stop();
    await server.stop();
    await tcpEcho.close();
  });

  const stillServing = async (): Promise<void> => {
    const data = patternBytes(10_000, 4);
    assert.ok((await echoThrough(tcpPort, data)).equals(data), 'the v2 client keeps serving');
  };

  test('a ClientHello that is not JSON: closed without an answer, one readable refusal', async () => {
    const raw = await rawSocket(server.port);
    raw.socket.write(Buffer.concat([V2_MAGIC, encodeV2Frame(V2FrameType.ClientHello, Buffer.from('{not json'))]));
    await raw.closed;
    assert.equal(raw.received().length, 0);
    await log.waitForLine(/no valid first message.*decode ClientHello: not valid JSON/);
    await stillServing();
  });

  test('a ClientHello frp cannot accept: a ServerHello that says why, then closed', async () => {
    const raw = await rawSocket(server.port);
    raw.socket.write(Buffer.concat([V2_MAGIC, encodeV2Frame(V2FrameType.ClientHello, Buffer.from('{"capabilities":{"message":{"codecs":["cbor"]}}}'))]));
    await raw.closed;
    const decoder = new V2FrameDecoder();
    decoder.push(raw.received());
    const frame = decoder.next();
    assert.equal(frame?.type, V2FrameType.ServerHello);
    assert.equal(JSON.parse(frame.payload.toString()).error, 'unsupported message codec');
    await stillServing();
  });

  test('an oversize frame is refused from its header', async () => {
    const raw = await rawSocket(server.port);
    const header = Buffer.alloc(8);
    header.writeUInt16BE(V2FrameType.Message, 0);
    header.writeUInt32BE(70_000, 4);
    raw.socket.write(Buffer.concat([V2_MAGIC, header]));
    await raw.closed;
    await log.waitForLine(/no valid first message.*v2 frame payload length 70000 exceeds limit 65536/);
    await stillServing();
  });

  test('a client preferring XChaCha20-Poly1305 gets it, logs in and is answered over the AEAD channel', async () => {
    // No 'data' listener here: the exchange is read message by message.
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const random = Buffer.alloc(32, 9).toString('base64');
    const hello = Buffer.from(
      `{"bootstrap":{"transport":"tcp"},"capabilities":{"message":{"codecs":["json"]},"crypto":{"algorithms":["xchacha20-poly1305","aes-256-gcm"],"clientRandom":"${random}"}}}`,
    );
    const timestamp = Math.floor(Date.now() / 1000);
    socket.write(
      Buffer.concat([
        V2_MAGIC,
        encodeV2Frame(V2FrameType.ClientHello, hello),
        encodeV2Message({ type: 'Login', body: { version: '0.70.1', privilege_key: tokenDigest(TOKEN, timestamp), timestamp, pool_count: 0 } }),
      ]),
    );
    const serverHello = await readOne(socket, new V2FrameDecoder(), 5000, 'ServerHello');
    const ctx = acceptServerHello(hello, serverHello.payload);
    assert.equal(ctx.algorithm, 'xchacha20-poly1305');
    markWire(socket, 'v2');
    const resp = await expectMessage(socket, 'LoginResp', 5000);
    assert.equal(resp.error ?? '', '');
    const channel = new ControlChannel(socket, v2ControlCipher(TOKEN, ctx, 'client'));
    const pong = new Promise<string>((resolve) => channel.on('message', (m: Message) => m.type === 'Pong' && resolve(m.type)));
    channel.send({ type: 'Ping', body: {} });
    assert.equal(await pong, 'Pong');
    await waitFor(() => server.clients.filter((c) => c.wireProtocol === 'v2').length === 2, 'the raw client to be filed beside the other');
    channel.close();
  });

  test('a v2 Login without a hello: refused with frp’s reason, in v2 framing', async () => {
    const raw = await rawSocket(server.port);
    const timestamp = Math.floor(Date.now() / 1000);
    raw.socket.write(
      Buffer.concat([
        V2_MAGIC,
        encodeV2Message({ type: 'Login', body: { version: '0.70.1', privilege_key: tokenDigest(TOKEN, timestamp), timestamp, pool_count: 0 } }),
      ]),
    );
    await raw.closed;
    const decoder = new V2MessageDecoder();
    decoder.push(raw.received());
    const msg = decoder.next();
    assert.equal(msg?.type, 'LoginResp');
    assert.equal(msg.type === 'LoginResp' && msg.body.error, 'missing v2 crypto negotiation');
    await stillServing();
  });
});
