/**
 * burrow client ↔ burrow server over KCP (real UDP sockets on 127.0.0.1):
 * TLS on and off, yamux on and off, a tcp proxy echoing small and 1 MB
 * payloads, and a relay that drops 5 % of datagrams each way and reorders
 * some, with the bytes still arriving intact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { echoExchange, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor, type EchoService } from '../helpers/tunnel.js';
import { freeUdpPort, startLossyRelay, type LossyRelay } from '../helpers/udp-relay.js';

const MiB = 1024 * 1024;

interface Variant {
  tls: boolean;
  tcpMux: boolean;
  /** drop every n-th datagram each way (0: clean link) */
  dropEvery: number;
}

const VARIANTS: Variant[] = [
  { tls: false, tcpMux: true, dropEvery: 0 },
  { tls: true, tcpMux: true, dropEvery: 0 },
  { tls: true, tcpMux: false, dropEvery: 0 },
  { tls: false, tcpMux: true, dropEvery: 20 },
  { tls: true, tcpMux: true, dropEvery: 20 },
];

for (const v of VARIANTS) {
  describe(`kcp tunnel (tls ${v.tls ? 'on' : 'off'}, mux ${v.tcpMux ? 'on' : 'off'}, ${v.dropEvery ? `1 in ${v.dropEvery} datagrams lost` : 'no loss'})`, () => {
    let echo: EchoService;
    let server: BurrowServer;
    let client: BurrowClient;
    let relay: LossyRelay | undefined;
    let port: number;
    // KCP has no FIN: without yamux a half-close does not reach the other side.
    const roundTrip = (p: number, data: Buffer): Promise<Buffer> => (v.tcpMux ? echoThrough(p, data) : echoExchange(p, data));

    before(async () => {
      echo = await startEcho();
      server = await startServer({ kcpBindPort: await freeUdpPort(), transport: { tcpMux: v.tcpMux } });
      assert.ok(server.kcpPort > 0);
      relay = v.dropEvery ? await startLossyRelay(server.kcpPort, { dropEvery: v.dropEvery, swapEvery: 7 }) : undefined;
      client = makeClient(relay?.port ?? server.kcpPort, { protocol: 'kcp', tls: v.tls, tcpMux: v.tcpMux, proxies: [tcpProxy('echo', echo.port)] });
      await client.start();
      port = portOf((await client.waitForProxy('echo')).remoteAddr);
    });

    after(async () => {
      client.stop();
      await server.stop();
      await relay?.close();
      await echo.close();
    });

    test('echoes a small payload', async () => {
      const data = Buffer.from('hello over kcp');
      assert.deepEqual(await roundTrip(port, data), data);
    });

    test('echoes 1 MiB byte-exact', async () => {
      const data = patternBytes(MiB, 3);
      const back = await roundTrip(port, data);
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data), 'echoed bytes differ');
      if (relay) assert.ok(relay.dropped.c2s > 0 && relay.dropped.s2c > 0, 'the relay dropped datagrams both ways');
    });

    test('carries 20 parallel connections', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const data = patternBytes(2000 + i * 101, i + 1);
          return (await roundTrip(port, data)).equals(data);
        }),
      );
      assert.equal(results.filter(Boolean).length, 20);
    });

    test('leaves no visitor connection open', async () => {
      await waitFor(() => server.findProxy('echo')?.activeConnections === 0, 'visitor sockets to close');
    });
  });
}
