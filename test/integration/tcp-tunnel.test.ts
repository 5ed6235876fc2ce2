import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { echoExchange, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor, type EchoService } from '../helpers/tunnel.js';

const MiB = 1024 * 1024;

/**
 * The links a client can take to the server: every transport kind, tcp with
 * and without TLS, websocket with TLS inside (frpc's default) and without.
 */
const LINKS = [
  { protocol: 'tcp', tls: false },
  { protocol: 'tcp', tls: true },
  { protocol: 'websocket', tls: false },
  { protocol: 'websocket', tls: true },
  { protocol: 'wss', tls: true },
] as const;

/** The same end-to-end checks over every link, mux on and off, then the payload transforms. */
const variants = [
  ...LINKS.flatMap((link) => [true, false].map((tcpMux) => ({ ...link, tcpMux, enc: false, comp: false }))),
  { protocol: 'tcp', tcpMux: true, tls: true, enc: true, comp: false },
  { protocol: 'tcp', tcpMux: true, tls: true, enc: false, comp: true },
  { protocol: 'tcp', tcpMux: false, tls: true, enc: true, comp: true },
  { protocol: 'websocket', tcpMux: true, tls: false, enc: true, comp: true },
];

for (const v of variants) {
  const label = `${v.protocol}, mux ${v.tcpMux ? 'on' : 'off'}, tls ${v.tls ? 'on' : 'off'}, encryption ${v.enc ? 'on' : 'off'}, compression ${v.comp ? 'on' : 'off'}`;
  describe(`tunnel (${label})`, () => {
    let echo: EchoService;
    let server: BurrowServer;
    let client: BurrowClient;
    let port: number;
    // A websocket has no half-close; without yamux a FIN ends the websocket both ways.
    const halfClose = v.protocol === 'tcp' || v.tcpMux;
    const roundTrip = (p: number, data: Buffer): Promise<Buffer> => (halfClose ? echoThrough(p, data) : echoExchange(p, data));

    before(async () => {
      echo = await startEcho();
      server = await startServer({ transport: { tcpMux: v.tcpMux } });
      client = makeClient(server.port, {
        tcpMux: v.tcpMux,
        tls: v.tls,
        protocol: v.protocol,
        proxies: [tcpProxy('echo', echo.port, { transport: { useEncryption: v.enc, useCompression: v.comp } })],
      });
      await client.start();
      port = portOf((await client.waitForProxy('echo')).remoteAddr);
    });

    after(async () => {
      client.stop();
      await server.stop();
      await echo.close();
    });

    test('round-trips 8 MiB byte-exact', async () => {
      const data = patternBytes(8 * MiB, 7);
      const back = await roundTrip(port, data);
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data), 'echoed bytes differ');
    });

    test('carries 200 parallel connections byte-exact', async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const data = patternBytes(4096 + i * 37, i + 1);
          const back = await roundTrip(port, data);
          return back.equals(data);
        }),
      );
      assert.equal(results.filter(Boolean).length, 200);
    });

    test('counts traffic on the server side proxy', () => {
      const proxy = server.findProxy('echo');
      assert.ok(proxy);
      assert.ok(proxy.traffic.bytesIn >= 8 * MiB, `bytesIn ${proxy.traffic.bytesIn}`);
      assert.ok(proxy.traffic.bytesOut >= 8 * MiB, `bytesOut ${proxy.traffic.bytesOut}`);
    });

    test('leaves no connection open after visitors are done', async () => {
      await waitFor(() => server.findProxy('echo')?.activeConnections === 0, 'visitor sockets to close');
      await waitFor(() => echo.open === 0, 'local sockets to close');
    });
  });
}
