/**
 * The client side of a stock frpc↔frps KCP session (test/fixtures/kcp, TLS
 * off), datagram for datagram from one UDP socket, against burrow's server:
 * it takes frpc's KCP conversation, yamux and Login as they are and brings the
 * client online and its proxy up.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startServer } from '../helpers/tunnel.js';
import { freeUdpPort } from '../helpers/udp-relay.js';
import { withTimeout } from '../../src/util/timeout.js';

interface Recorded {
  t: number;
  dir: 'c2s' | 's2c';
  hex: string;
}

test("a recorded frpc's KCP datagrams log in to burrow's server and register its proxy", async () => {
  const records = JSON.parse(readFileSync(new URL('../fixtures/kcp/kcp-tls-off.json', import.meta.url), 'utf8')) as Recorded[];
  const server = await startServer({ auth: { token: 'abc', maxClockSkew: 0 }, kcpBindPort: await freeUdpPort() });
  const peer = dgram.createSocket('udp4');
  try {
    const online = once(server, 'clientOnline');
    const started = once(server, 'proxyStarted');
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    const answer = once(peer, 'message');
    for (const r of records) if (r.dir === 'c2s') peer.send(Buffer.from(r.hex, 'hex'), server.kcpPort, '127.0.0.1');
    await withTimeout(online, 10_000, 'the recorded client to come online');
    const [, proxy] = (await withTimeout(started, 10_000, 'the recorded proxy to start')) as [unknown, { name: string }];
    assert.equal(proxy.name, 'nas.echo', 'frp prefixes the user');
    const [reply] = (await withTimeout(answer, 10_000, 'an answer over KCP')) as [Buffer];
    // kcp-go's FEC data header, and the recorded client's conversation id
    assert.equal(reply.readUInt16LE(4), 0xf1);
    assert.equal(reply.readUInt32LE(8), Buffer.from((records[0] as Recorded).hex, 'hex').readUInt32LE(8));
  } finally {
    peer.close();
    await server.stop();
  }
});
