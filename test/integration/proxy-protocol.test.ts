import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import { vhostRequest } from '../helpers/http.js';
import { queue } from '../helpers/streams.js';
import { makeClient, portOf, startServer, freePort } from '../helpers/tunnel.js';
import { UdpPeer, udpProxy } from '../helpers/udp.js';

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

interface ParsedHeader {
  version: 1 | 2;
  /** v1: TCP4/TCP6/UNKNOWN; v2: the family/transport byte */
  proto: string | number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** bytes after the header */
  rest: Buffer;
}

/** A PROXY protocol parser written for the test from the spec, independent of the encoder. */
function parseHeader(buf: Buffer): ParsedHeader {
  if (buf.subarray(0, 12).equals(V2_SIGNATURE)) {
    assert.equal(buf[12], 0x21, 'version 2, command PROXY');
    const proto = buf[13] ?? 0;
    const len = buf.readUInt16BE(14);
    const body = buf.subarray(16, 16 + len);
    const ipLen = proto >> 4 === 1 ? 4 : 16;
    const ip = (b: Buffer): string => (ipLen === 4 ? [...b].join('.') : (b.toString('hex').match(/.{4}/g) ?? []).join(':'));
    return {
      version: 2,
      proto,
      src: ip(body.subarray(0, ipLen)),
      dst: ip(body.subarray(ipLen, 2 * ipLen)),
      srcPort: body.readUInt16BE(2 * ipLen),
      dstPort: body.readUInt16BE(2 * ipLen + 2),
      rest: buf.subarray(16 + len),
    };
  }
  const end = buf.indexOf('\r\n');
  assert.ok(end > 0 && buf.subarray(0, 6).toString() === 'PROXY ', `no PROXY header in ${JSON.stringify(buf.subarray(0, 40).toString('latin1'))}`);
  const [, proto = '', src = '', dst = '', sp = '0', dp = '0'] = buf.subarray(0, end).toString('latin1').split(' ');
  return { version: 1, proto, src, dst, srcPort: Number(sp), dstPort: Number(dp), rest: buf.subarray(end + 2) };
}

/**
 * A local TCP service that collects each connection's bytes until the
 * visitor half-closes or a request head is complete (past the 16 bytes a v2
 * header starts with, which begin with CRLF CRLF), then answers "ok".
 */
async function startRecorder(): Promise<{ port: number; connections: ReturnType<typeof queue<Buffer>>; server: net.Server }> {
  const connections = queue<Buffer>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      connections.push(Buffer.concat(chunks));
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    };
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).indexOf('\r\n\r\n', 16) >= 0) finish();
    });
    s.on('end', finish);
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, connections, server };
}

async function sendAndHalfClose(port: number, data: string): Promise<number> {
  const sock = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(sock, 'connect');
  const localPort = sock.localPort ?? 0;
  sock.end(data);
  sock.resume();
  await once(sock, 'close');
  return localPort;
}

describe('PROXY protocol toward the local service', () => {
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let server: BurrowServer;
  let client: BurrowClient;
  let httpPort: number;
  const remote: Record<string, number> = {};

  before(async () => {
    recorder = await startRecorder();
    httpPort = await freePort();
    server = await startServer({ vhostHTTPPort: httpPort });
    const tcp = (
      name: string,
      version: 'v1' | 'v2',
    ): { name: string; type: 'tcp'; localPort: number; remotePort: number; transport: { proxyProtocolVersion: 'v1' | 'v2' } } => ({
      name,
      type: 'tcp',
      localPort: recorder.port,
      remotePort: 0,
      transport: { proxyProtocolVersion: version },
    });
    client = makeClient(server.port, {
      proxies: [
        tcp('pp1', 'v1'),
        tcp('pp2', 'v2'),
        { name: 'web', type: 'http', localPort: recorder.port, customDomains: ['pp.test'], transport: { proxyProtocolVersion: 'v2' } },
      ],
    });
    await client.start();
    for (const name of ['pp1', 'pp2']) remote[name] = portOf((await client.waitForProxy(name)).remoteAddr);
    await client.waitForProxy('web');
  });

  after(async () => {
    client.stop();
    await server.stop();
    recorder.server.close();
  });

  test('tcp v1: the text header first, with the visitor as source and the public port as destination', async () => {
    const visitorPort = await sendAndHalfClose(remote.pp1 ?? 0, 'payload-1');
    const h = parseHeader(await recorder.connections.next());
    assert.deepEqual(
      { ...h, rest: h.rest.toString() },
      {
        version: 1,
        proto: 'TCP4',
        src: '127.0.0.1',
        srcPort: visitorPort,
        dst: '127.0.0.1',
        dstPort: remote.pp1,
        rest: 'payload-1',
      },
    );
  });

  test('tcp v2: the binary header (TCP over IPv4) first', async () => {
    const visitorPort = await sendAndHalfClose(remote.pp2 ?? 0, 'payload-2');
    const h = parseHeader(await recorder.connections.next());
    assert.equal(h.version, 2);
    assert.equal(h.proto, 0x11);
    assert.equal(h.src, '127.0.0.1');
    assert.equal(h.srcPort, visitorPort);
    assert.equal(h.dstPort, remote.pp2);
    assert.equal(h.rest.toString(), 'payload-2');
  });

  test('http: the header precedes the request (frp e2e "Proxy Protocol HTTP")', async () => {
    const res = vhostRequest(httpPort, 'pp.test', '/hello');
    const h = parseHeader(await recorder.connections.next());
    assert.equal(h.version, 2);
    assert.equal(h.src, '127.0.0.1');
    assert.match(h.rest.toString(), /^GET \/hello HTTP\/1\.1\r\n/);
    assert.equal((await res).body.toString(), 'ok');
  });
});

describe('PROXY protocol for udp: the first datagram of each visitor carries it (as frp)', () => {
  test('v2 UDP over IPv4 on the first datagram only; v1 says UNKNOWN', async (t) => {
    const local = createSocket('udp4');
    const received = queue<Buffer>();
    local.on('message', (msg, rinfo) => {
      received.push(msg);
      local.send(Buffer.from('ack'), rinfo.port, rinfo.address);
    });
    local.bind(0, '127.0.0.1');
    await once(local, 'listening');
    const localPort = local.address().port;
    const server = await startServer();
    const client = makeClient(server.port, {
      proxies: [
        udpProxy('u2', localPort, { transport: { proxyProtocolVersion: 'v2' } }),
        udpProxy('u1', localPort, { transport: { proxyProtocolVersion: 'v1' } }),
      ],
    });
    t.after(async () => {
      client.stop();
      await server.stop();
      local.close();
    });
    await client.start();
    const port2 = portOf((await client.waitForProxy('u2')).remoteAddr);
    const port1 = portOf((await client.waitForProxy('u1')).remoteAddr);
    const peer = await UdpPeer.open();
    t.after(() => peer.close());

    peer.send(Buffer.from('first'), port2);
    const first = parseHeader(await received.next());
    assert.equal(first.version, 2);
    assert.equal(first.proto, 0x12, 'UDP over IPv4');
    assert.equal(first.src, '127.0.0.1');
    assert.equal(first.srcPort, peer.port);
    assert.equal(first.dst, '127.0.0.1');
    assert.equal(first.dstPort, localPort, 'the destination is the local service, as frp');
    assert.equal(first.rest.toString(), 'first');
    await peer.next(5000, 'the ack');
    peer.send(Buffer.from('second'), port2);
    assert.equal((await received.next()).toString(), 'second', 'later datagrams of the same visitor go bare');
    await peer.next(5000, 'the ack');

    peer.send(Buffer.from('v1'), port1);
    assert.equal((await received.next()).toString(), 'PROXY UNKNOWN\r\nv1');
  });
});
