import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpStream } from '../../src/nathole/udp-stream.js';
import { Kind, StreamSealer } from '../../src/nathole/udp-stream-wire.js';
import { decodeSidDatagram, encodeSidDatagram, punchHole } from '../../src/nathole/punch.js';
import { deriveCipherKey } from '../../src/protocol/crypto.js';
import { prng } from '../helpers/random.js';
import { patternBytes } from '../helpers/tunnel.js';
import { readBytes } from '../helpers/streams.js';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

/**
 * A UDP relay between two peers that loses, duplicates and reorders
 * datagrams: A talks to `portA`, B to `portB`.
 */
async function lossyRelay(seed: number, loss: number): Promise<{ portA: number; portB: number; close(): void; target(a: number, b: number): void }> {
  const rand = prng(seed);
  const sa = await bound();
  const sb = await bound();
  let a = 0;
  let b = 0;
  let closed = false;
  const forward = (to: Socket, port: number, msg: Buffer): void => {
    const r = rand(1000) / 1000;
    if (r < loss) return;
    // A reordered datagram may come due after close(): sending on a closed socket throws.
    const send = (): void => {
      if (!closed) to.send(msg, port, '127.0.0.1');
    };
    if (r < loss * 1.5)
      setTimeout(send, 5); // reordered
    else send();
    if (r > 1 - loss / 2) send(); // duplicated
  };
  sa.on('message', (m) => forward(sb, b, m));
  sb.on('message', (m) => forward(sa, a, m));
  return {
    portA: sa.address().port,
    portB: sb.address().port,
    target(pa, pb) {
      a = pa;
      b = pb;
    },
    close() {
      closed = true;
      sa.close();
      sb.close();
    },
  };
}

async function pair(loss: number, seed = 1): Promise<{ a: UdpStream; b: UdpStream; close(): void }> {
  const relay = await lossyRelay(seed, loss);
  const sa = await bound();
  const sb = await bound();
  relay.target(sa.address().port, sb.address().port);
  const common = { secretKey: 'sk', sid: '1700000000abcdef0123456789' };
  const a = new UdpStream({ ...common, socket: sa, peer: { ip: '127.0.0.1', port: relay.portA }, initiator: true });
  const b = new UdpStream({ ...common, socket: sb, peer: { ip: '127.0.0.1', port: relay.portB }, initiator: false });
  await Promise.all([a.ready(), b.ready()]);
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      relay.close();
    },
  };
}

for (const loss of [0, 0.1]) {
  test(`udp stream: 1 MiB each way arrive in order, byte-exact, with ${loss * 100}% loss plus reordering and duplicates`, async () => {
    const { a, b, close } = await pair(loss, 7);
    try {
      const one = patternBytes(1024 * 1024, 1);
      const two = patternBytes(1024 * 1024, 2);
      const gotAtB = readBytes(b, one.length);
      const gotAtA = readBytes(a, two.length);
      a.write(one);
      b.write(two);
      assert.ok((await gotAtB).equals(one), 'a -> b');
      assert.ok((await gotAtA).equals(two), 'b -> a');
    } finally {
      close();
    }
  });
}

test('udp stream: end() arrives as end of stream after all data; destroy() reaches the peer', async () => {
  const { a, b, close } = await pair(0, 3);
  try {
    const data = patternBytes(100_000, 5);
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    const ended = once(b, 'end');
    a.end(data);
    await ended;
    assert.ok(Buffer.concat(chunks).equals(data));
    const closed = once(b, 'close');
    b.on('error', () => {});
    a.destroy();
    await closed;
  } finally {
    close();
  }
});

test('udp stream wire: sealed per tunnel and direction; forged, tampered or reflected datagrams do not open', () => {
  const visitor = new StreamSealer('sk', 'sid-1', true);
  const owner = new StreamSealer('sk', 'sid-1', false);
  const fields = { kind: Kind.Data, seq: 7, ack: 3, got: 2, sack: 5, wnd: 100 };
  const datagram = visitor.seal(fields, Buffer.from('payload'));
  const opened = owner.open(datagram);
  assert.deepEqual({ ...opened, payload: opened?.payload.toString() }, { ...fields, payload: 'payload' });
  assert.equal(new StreamSealer('other', 'sid-1', false).open(datagram), undefined, 'another secret key');
  assert.equal(new StreamSealer('sk', 'sid-2', false).open(datagram), undefined, 'another tunnel');
  assert.equal(visitor.open(datagram), undefined, 'our own datagram reflected back');
  const tampered = Buffer.from(datagram);
  tampered[20] = tampered[20]! ^ 1;
  assert.equal(owner.open(tampered), undefined, 'a flipped bit');
  assert.equal(owner.open(Buffer.from('BRU1 too short')), undefined);
});

test('hole punching datagrams: frp format round-trip; both sides find each other', async () => {
  const key = deriveCipherKey('sk');
  const d = encodeSidDatagram(key, { transaction_id: 't', sid: 's1' });
  assert.deepEqual({ ...decodeSidDatagram(key, d), nonce: undefined }, { transaction_id: 't', sid: 's1', nonce: undefined });
  assert.equal(decodeSidDatagram(deriveCipherKey('other'), d), undefined);
  const sa = await bound();
  const sb = await bound();
  try {
    const [pa, pb] = await Promise.all([
      punchHole({ socket: sa, key, sid: 's1', transactionId: 'ta', candidates: [`127.0.0.1:${sb.address().port}`, '10.255.255.1:1'], timeoutMs: 3000 }),
      punchHole({ socket: sb, key, sid: 's1', transactionId: 'tb', candidates: [`127.0.0.1:${sa.address().port}`], timeoutMs: 3000 }),
    ]);
    assert.equal(pa.port, sb.address().port);
    assert.equal(pb.port, sa.address().port);
    await assert.rejects(punchHole({ socket: sa, key, sid: 's2', transactionId: 't', candidates: [], timeoutMs: 100 }), /no usable/);
  } finally {
    sa.close();
    sb.close();
  }
});
