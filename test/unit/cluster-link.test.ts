import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { answerLink, dialLink, presentAsUser, type LinkHello } from '../../src/cluster/link-handshake.js';

const SECRET = 'the-cluster-secret';

/** A link port on 127.0.0.1 answering with `secret`; each settled handshake is reported. */
async function linkPort(secret: string, accept: (h: LinkHello) => boolean = () => true) {
  const results: Array<LinkHello | Error> = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    answerLink(socket, secret, accept).then(
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
  return {
    addr: `127.0.0.1:${(server.address() as AddressInfo).port}`,
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
