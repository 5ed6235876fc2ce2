import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { visitor, type RawVisitor } from '../helpers/config.js';
import {
  captureLog,
  echoThrough,
  freePort,
  makeClient,
  patternBytes,
  startEcho,
  startServer,
  waitFor,
  type CapturedLog,
  type EchoService,
} from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, type UdpEchoService } from '../helpers/udp.js';

const SK = 'between-friends';

const stcpVisitor = (name: string, bindPort: number, extra: RawVisitor = {}): RawVisitor => visitor('stcp', name, 'secret-tcp', SK, bindPort, extra);
const sudpVisitor = (name: string, bindPort: number, extra: RawVisitor = {}): RawVisitor => visitor('sudp', name, 'secret-udp', SK, bindPort, extra);

/** Connects to a visitor's port and resolves when the visitor closes the connection without answering. */
async function refusedAt(port: number): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'connect');
  socket.write('anyone there?');
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

for (const v of [
  { label: 'plain', enc: false, comp: false, tcpMux: true },
  { label: 'visitor hop and proxy hop encrypted and compressed', enc: true, comp: true, tcpMux: true },
  { label: 'no mux', enc: false, comp: true, tcpMux: false },
]) {
  describe(`stcp and sudp (${v.label})`, () => {
    let tcpEcho: EchoService;
    let udpEcho: UdpEchoService;
    let server: BurrowServer;
    let owner: BurrowClient;
    let visitor: BurrowClient;
    let log: CapturedLog;
    let stcpPort: number;
    let sudpPort: number;
    let wrongPort: number;
    let wrongUdpPort: number;
    let ownerConnections = 0;

    before(async () => {
      log = captureLog();
      tcpEcho = await startEcho();
      tcpEcho.server.on('connection', () => ownerConnections++);
      udpEcho = await startUdpEcho();
      server = await startServer({ transport: { tcpMux: v.tcpMux } }, log.logger);
      const transport = { useEncryption: v.enc, useCompression: v.comp };
      owner = makeClient(server.port, {
        tcpMux: v.tcpMux,
        proxies: [
          { name: 'secret-tcp', type: 'stcp', localIP: '127.0.0.1', localPort: tcpEcho.port, secretKey: SK, transport },
          { name: 'secret-udp', type: 'sudp', localIP: '127.0.0.1', localPort: udpEcho.port, secretKey: SK, transport },
        ],
      });
      await owner.start();
      await owner.waitForProxy('secret-tcp');
      await owner.waitForProxy('secret-udp');
      [stcpPort, sudpPort, wrongPort, wrongUdpPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
      visitor = makeClient(server.port, {
        tcpMux: v.tcpMux,
        extra: {
          visitors: [
            stcpVisitor('tcp-visitor', stcpPort, { transport }),
            sudpVisitor('udp-visitor', sudpPort, { transport }),
            stcpVisitor('wrong-key', wrongPort, { secretKey: 'guess' }),
            sudpVisitor('wrong-key-udp', wrongUdpPort, { secretKey: 'guess' }),
          ],
        },
      });
      await visitor.start();
      assert.deepEqual(
        visitor.visitors.map((s) => [s.name, s.state]),
        ['tcp-visitor', 'udp-visitor', 'wrong-key', 'wrong-key-udp'].map((n) => [n, 'running']),
      );
    });

    after(async () => {
      visitor.stop();
      owner.stop();
      await server.stop();
      await tcpEcho.close();
      await udpEcho.close();
    });

    test('stcp: a visitor reaches the owner’s local service, 1 MiB byte-exact, 20 at once', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const data = patternBytes(i === 0 ? 1024 * 1024 : 10_000 + i, i + 1);
          return (await echoThrough(stcpPort, data)).equals(data);
        }),
      );
      assert.equal(results.filter(Boolean).length, 20);
      const proxy = server.findProxy('secret-tcp');
      assert.ok(proxy && proxy.traffic.bytesIn >= 1024 * 1024);
    });

    test('sudp: datagrams from 5 local senders come back to their sender', async () => {
      const peers = await Promise.all(Array.from({ length: 5 }, () => UdpPeer.open()));
      try {
        await Promise.all(
          peers.map(async (peer, i) => {
            for (let n = 0; n < 40; n++) await peer.request(Buffer.from(`sender ${i} datagram ${n}`), sudpPort);
          }),
        );
        for (const [i, peer] of peers.entries())
          assert.ok(
            peer.log.every((d) => d.toString().startsWith(`sender ${i} `)),
            `sender ${i} got another sender's datagram`,
          );
        const big = patternBytes(30_000, 5);
        assert.ok((await peers[0]!.request(big, sudpPort, 2000)).equals(big), 'a 30 KB datagram arrives whole');
      } finally {
        for (const p of peers) p.close();
      }
    });

    test('a wrong secret key: the visitor is refused with a clear reason, nothing reaches the owner', async () => {
      const before = ownerConnections;
      assert.equal((await refusedAt(wrongPort)).length, 0);
      assert.match(await log.waitForLine(/visitor connection refused.*"proxy":"secret-tcp".*BURROW_AUTH_FAILED/), /auth failed/);
      const peer = await UdpPeer.open();
      try {
        peer.send(Buffer.from('hello?'), wrongUdpPort);
        await log.waitForLine(/visitor connection refused.*"proxy":"secret-udp".*BURROW_AUTH_FAILED/);
        await assert.rejects(peer.next(300), /timed out/);
      } finally {
        peer.close();
      }
      assert.equal(ownerConnections, before, 'no connection reached the local service');
      // The good visitors keep working.
      const data = patternBytes(5000, 9);
      assert.ok((await echoThrough(stcpPort, data)).equals(data));
    });

    test('leaves no connection open after visitors are done', async () => {
      await waitFor(() => server.findProxy('secret-tcp')?.activeConnections === 0, 'visitor connections to close');
      await waitFor(() => tcpEcho.open === 0, 'local connections to close');
    });
  });
}
