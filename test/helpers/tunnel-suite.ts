import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { echoExchange, echoThrough, makeClient, patternBytes, portOf, startEcho, startServer, tcpProxy, waitFor, type EchoService } from './tunnel.js';

const MiB = 1024 * 1024;

export interface TunnelVariant {
  protocol: 'tcp' | 'websocket' | 'wss';
  tcpMux: boolean;
  tls: boolean;
  enc: boolean;
  comp: boolean;
}

/**
 * The same end-to-end checks over each variant of the link: 8 MiB byte-exact,
 * 200 parallel connections, traffic counted, nothing left open. The variants
 * are spread over several test files so that each file stays well inside the
 * per-file timeout and the runner can run them side by side.
 */
export function tunnelSuite(variants: readonly TunnelVariant[]): void {
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
}
