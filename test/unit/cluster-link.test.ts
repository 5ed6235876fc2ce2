import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { answerLink, dialLink, LINK_HELLO_WINDOW_MS, presentAsUser, type LinkHello } from '../../src/cluster/link-handshake.js';
import { LinkReplayGuard } from '../../src/cluster/link-replay.js';

const SECRET = 'the-cluster-secret';

/** A link port on 127.0.0.1 answering with `secret`; each settled handshake is reported. */
async function linkPort(secret: string, accept: (h: LinkHello) => boolean = () => true) {
  const results: Array<LinkHello | Error> = [];
  const sockets: Socket[] = [];
  // The address set once listening: a node checks that each hello was made for its own advertised address.
  const self = { address: '', seen: new LinkReplayGuard(LINK_HELLO_WINDOW_MS) };
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    answerLink(socket, secret, self, accept).then(
      (h) => {
        results.push(h);
        presentAsUser(socket, h.src);
        socket.pipe(socket); // echo: what the user sends comes back
      },
      (err: Error) => {
        results.push(err);
        socket.destroy();
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  self.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    addr: self.address,
    self,
    results,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

const hello = { node: 'b', kind: 'tcp' as const, target: '6000', src: '203.0.113.7:40000' };

test('a link with the right secret carries bytes, and the owner sees the user as the peer', async () => {
  const port = await linkPort(SECRET);
  try {
    const link = await dialLink(port.addr, SECRET, hello, false);
    link.write('ping');
    link.resume(); // the handshake leaves the socket paused for whoever reads next
    const [echoed] = (await once(link, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'ping');
    const h = port.results[0] as LinkHello;
    assert.equal(h.target, '6000');
    assert.equal(port.sockets[0]!.remoteAddress, '203.0.113.7');
    assert.equal(port.sockets[0]!.remotePort, 40000);
    link.destroy();
  } finally {
    await port.close();
  }
});

test('a dialer without the secret is refused, and a dialer does not talk to an owner without it', async () => {
  const port = await linkPort(SECRET);
  try {
    await assert.rejects(dialLink(port.addr, 'another-secret', hello, false), { code: 'BURROW_CLUSTER_LINK' });
    assert.match(String(port.results[0]), /not signed with the cluster secret/);
  } finally {
    await port.close();
  }
  const impostor = await linkPort('impostor-secret!', () => true);
  try {
    // The impostor cannot check our hello, so it refuses; one that answered ok could not prove the secret.
    await assert.rejects(dialLink(impostor.addr, SECRET, hello, false), { code: 'BURROW_CLUSTER_LINK' });
  } finally {
    await impostor.close();
  }
});

test('an owner without the route says so, and a hostile first frame closes only that link', async () => {
  const port = await linkPort(SECRET, () => false);
  try {
    await assert.rejects(dialLink(port.addr, SECRET, hello, false), /refused: no tcp route for 6000/);
    const raw = connect(Number(port.addr.split(':')[1]), '127.0.0.1');
    raw.on('error', () => {});
    raw.write(Buffer.from([0xff, 0xff])); // a frame of 65535 bytes announced: over the bound
    await once(raw, 'close');
    assert.match(String(port.results[1]), /frame of 65535 bytes/);
  } finally {
    await port.close();
  }
});

/** A TCP forwarder to `target` that keeps a copy of the first bytes each connection sends (what an eavesdropper on the link would see). */
async function tap(target: string) {
  const copies: Buffer[] = [];
  const colon = target.lastIndexOf(':');
  const server = createServer((inbound) => {
    const chunks: Buffer[] = [];
    copies.push(Buffer.alloc(0));
    const i = copies.length - 1;
    const outbound = connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    inbound.on('data', (c: Buffer) => {
      chunks.push(c);
      copies[i] = Buffer.concat(chunks);
    });
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { addr: `127.0.0.1:${(server.address() as AddressInfo).port}`, copies, close: () => new Promise((r) => server.close(r)) };
}

/** Sends raw bytes to a link port and waits for it to close the connection. */
async function sendRaw(addr: string, bytes: Buffer): Promise<void> {
  const colon = addr.lastIndexOf(':');
  const socket = connect({ host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)) });
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.write(bytes);
  await once(socket, 'close');
}

test('a hello copied off the wire cannot open a second link, and a hello made for another node is refused there', async () => {
  const port = await linkPort(SECRET);
  const wire = await tap(port.addr);
  // The node is reached through the tap (its advertised address), as through a NAT.
  port.self.address = wire.addr;
  try {
    const link = await dialLink(wire.addr, SECRET, hello, false);
    link.destroy();
    assert.equal((port.results[0] as LinkHello).target, '6000', 'the real hello opens its link');
    const copied = wire.copies[0]!;
    await sendRaw(port.addr, copied);
    assert.match(String(port.results[1]), /link hello replayed/);
    // The same hello shown to a node at another address (a claim in Redis pointing a node at a collector, say).
    port.self.address = '127.0.0.1:1';
    await sendRaw(port.addr, copied);
    assert.match(String(port.results[2]), /link hello made for 127\.0\.0\.1:\d+, not for this node/);
  } finally {
    await wire.close();
    await port.close();
  }
});

test('the replay guard forgets nothing it may still need: when full, hellos no newer than the forgotten one are refused', () => {
  const guard = new LinkReplayGuard(60_000, 2);
  const now = 1_000_000;
  assert.equal(guard.admit('a', now - 3, now), true);
  assert.equal(guard.admit('a', now - 3, now), false, 'the same nonce twice');
  assert.equal(guard.admit('b', now - 2, now), true);
  assert.equal(guard.admit('c', now - 1, now), true, 'full: the oldest (a) is forgotten');
  assert.equal(guard.admit('a', now - 3, now), false, 'and a hello as old as it is refused from then on');
  assert.equal(guard.admit('d', now, now), true);
  // Entries older than twice the window go by themselves.
  assert.equal(guard.admit('e', now + 200_000, now + 200_000), true);
});
