import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { makeClient, patternBytes, portOf, startServer, waitFor } from '../helpers/tunnel.js';
import { UdpPeer, startUdpEcho, udpProxy, type UdpEchoService } from '../helpers/udp.js';

const variants = [
  { tcpMux: true, enc: false, comp: false },
  { tcpMux: false, enc: false, comp: false },
  { tcpMux: true, enc: true, comp: true },
];

for (const v of variants) {
  describe(`udp tunnel (mux ${v.tcpMux ? 'on' : 'off'}, encryption ${v.enc ? 'on' : 'off'}, compression ${v.comp ? 'on' : 'off'})`, () => {
    let echo: UdpEchoService;
    let server: BurrowServer;
    let client: BurrowClient;
    let port: number;

    before(async () => {
      echo = await startUdpEcho();
      server = await startServer({ transport: { tcpMux: v.tcpMux } });
      client = makeClient(server.port, {
        tcpMux: v.tcpMux,
        proxies: [udpProxy('dns', echo.port, { transport: { useEncryption: v.enc, useCompression: v.comp } })],
      });
      await client.start();
      port = portOf((await client.waitForProxy('dns')).remoteAddr);
    });

    after(async () => {
      client.stop();
      await server.stop();
      await echo.close();
    });

    test('1000 datagrams from 10 visitor sockets come back to their own sender', async () => {
      const peers = await Promise.all(Array.from({ length: 10 }, () => UdpPeer.open()));
      try {
        await Promise.all(
          peers.map(async (peer, i) => {
            for (let n = 0; n < 100; n++) {
              const payload = Buffer.concat([Buffer.from(`peer ${i} datagram ${n} `), patternBytes(50 + ((i * 100 + n) % 400), i * 1000 + n)]);
              await peer.request(payload, port);
            }
          }),
        );
        peers.forEach((peer, i) => {
          const foreign = peer.log.filter((d) => !d.toString('latin1').startsWith(`peer ${i} `));
          assert.equal(foreign.length, 0, `peer ${i} received datagrams of another peer`);
          assert.ok(peer.log.length >= 100, `peer ${i} got ${peer.log.length} answers`);
        });
        // One local socket per visitor: the service saw 10 distinct senders.
        assert.equal(echo.senders.size, 10);
        assert.equal(server.findProxy('dns')?.activeConnections, 10, 'the server counts each visitor address once');
      } finally {
        for (const p of peers) p.close();
      }
    });

    for (const size of [8 * 1024, 60 * 1024, 65507]) {
      test(`a ${size}-byte datagram arrives whole, both ways`, async () => {
        const peer = await UdpPeer.open();
        try {
          const payload = patternBytes(size, size);
          const back = await peer.request(payload, port, 2000);
          assert.equal(back.length, size);
          assert.ok(back.equals(payload));
        } finally {
          peer.close();
        }
      });
    }

    test('an empty datagram is carried too', async () => {
      const peer = await UdpPeer.open();
      try {
        const back = await peer.request(Buffer.alloc(0), port);
        assert.equal(back.length, 0);
      } finally {
        peer.close();
      }
    });

    test('counts datagram bytes both ways on the server side proxy', async () => {
      const proxy = server.findProxy('dns');
      assert.ok(proxy);
      await waitFor(() => proxy.traffic.bytesOut >= 8 * 1024 + 60 * 1024, 'reply bytes counted');
      assert.ok(proxy.traffic.bytesIn >= proxy.traffic.bytesOut, `in ${proxy.traffic.bytesIn} out ${proxy.traffic.bytesOut}`);
    });
  });
}
