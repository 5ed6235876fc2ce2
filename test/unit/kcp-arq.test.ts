/**
 * The KCP ARQ between two in-process peers on a fake clock: a pipe that drops
 * and reorders datagrams deterministically, in-order delivery regardless, and
 * the windows holding what is in flight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kcp, KCP_OVERHEAD, KcpState } from '../../src/transport/kcp/kcp.js';

interface Link {
  /** every n-th datagram is dropped (0: none) */
  dropEvery: number;
  /** every n-th datagram is held back and delivered after the next one (0: none) */
  swapEvery: number;
}

/** Two peers joined by a deterministic lossy link; `run` advances the clock in 10 ms steps. */
function pair(link: Link, opts: { sendWindow?: number; receiveWindow?: number } = {}) {
  let clock = 1_000;
  const queues: Buffer[][] = [[], []];
  const counters = [0, 0];
  const make = (side: 0 | 1): Kcp =>
    new Kcp({
      conv: 0x1234,
      now: () => clock,
      mtu: 1350,
      noDelay: true,
      intervalMs: 20,
      fastResend: 2,
      noCongestionWindow: true,
      stream: true,
      sendWindow: opts.sendWindow ?? 128,
      receiveWindow: opts.receiveWindow ?? 128,
      output: (d) => {
        const n = ++counters[side];
        if (link.dropEvery && n % link.dropEvery === 0) return;
        const q = queues[1 - side] as Buffer[];
        if (link.swapEvery && n % link.swapEvery === 0 && q.length > 0) q.splice(q.length - 1, 0, Buffer.from(d));
        else q.push(Buffer.from(d));
      },
    });
  const peers = [make(0), make(1)] as const;
  let lastFlush = clock;
  return {
    peers,
    sent: counters,
    step(): void {
      clock += 10;
      for (const side of [0, 1] as const) {
        const q = queues[side] as Buffer[];
        queues[side] = [];
        for (const d of q) assert.equal(peers[side].input(d, true), 'ok');
      }
      if (clock - lastFlush >= 20) {
        lastFlush = clock;
        for (const p of peers) p.flush();
      }
    },
  };
}

function pattern(size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 251));
}

function transfer(link: Link, size: number): { received: Buffer; steps: number; datagrams: number } {
  const p = pair(link);
  const data = pattern(size);
  p.peers[0].send(data);
  const got: Buffer[] = [];
  let total = 0;
  let steps = 0;
  while (total < size && steps < 100_000) {
    p.step();
    steps++;
    for (let b = p.peers[1].receive(65536); b; b = p.peers[1].receive(65536)) {
      got.push(b);
      total += b.length;
    }
  }
  return { received: Buffer.concat(got), steps, datagrams: p.sent[0] ?? 0 };
}

describe('KCP ARQ on a fake clock', () => {
  it('delivers 200 KB in order over a clean link', () => {
    const r = transfer({ dropEvery: 0, swapEvery: 0 }, 200_000);
    assert.deepEqual(r.received, pattern(200_000));
  });

  for (const link of [
    { dropEvery: 20, swapEvery: 0 },
    { dropEvery: 0, swapEvery: 3 },
    { dropEvery: 7, swapEvery: 5 },
    { dropEvery: 3, swapEvery: 0 },
  ]) {
    it(`delivers 200 KB intact with every ${link.dropEvery || '-'}th datagram dropped and every ${link.swapEvery || '-'}th reordered`, () => {
      const r = transfer(link, 200_000);
      assert.deepEqual(r.received, pattern(200_000));
    });
  }

  it('keeps at most the send window in flight, and the receive window bounds what waits unread', () => {
    const p = pair({ dropEvery: 0, swapEvery: 0 }, { sendWindow: 16, receiveWindow: 16 });
    const [a, b] = p.peers;
    a.send(pattern(1326 * 100));
    for (let i = 0; i < 50; i++) p.step();
    // b never reads: its queue fills to 16 segments and a stops there.
    assert.equal(b.readableSegments, 16);
    assert.equal(a.waitingToSend, 100 - 16);
    assert.equal(a.remoteWindow, 0);
    // reading opens the window again (b tells a, without waiting for a's probe)
    let got = 0;
    for (let i = 0; i < 400 && got < 1326 * 100; i++) {
      for (let chunk = b.receive(1 << 20); chunk; chunk = b.receive(1 << 20)) got += chunk.length;
      p.step();
    }
    assert.equal(got, 1326 * 100);
  });

  it('packs segments into datagrams of at most the MTU', () => {
    const sizes: number[] = [];
    const k = new Kcp({ conv: 1, now: () => 0, mtu: 1350, stream: true, sendWindow: 64, noCongestionWindow: true, output: (d) => sizes.push(d.length) });
    k.send(pattern(10_000));
    k.flush();
    assert.ok(sizes.length >= 8);
    for (const s of sizes) assert.ok(s <= 1350 && s >= KCP_OVERHEAD);
  });

  it('refuses a datagram for another conversation, a bad command or a short length, without throwing', () => {
    const k = new Kcp({ conv: 7, now: () => 0, output: () => {} });
    const seg = Buffer.alloc(KCP_OVERHEAD);
    seg.writeUInt32LE(8, 0);
    assert.equal(k.input(seg, true), 'conv');
    seg.writeUInt32LE(7, 0);
    seg[4] = 99;
    assert.equal(k.input(seg, true), 'cmd');
    seg[4] = 81;
    seg.writeUInt32LE(5, 20);
    assert.equal(k.input(seg, true), 'length');
    assert.equal(k.input(Buffer.alloc(3), true), 'short');
  });

  it('gives up on a peer that never answers (dead link)', () => {
    let clock = 0;
    const k = new Kcp({ conv: 1, now: () => clock, noDelay: true, intervalMs: 20, output: () => {} });
    k.send(Buffer.from('hello'));
    for (let i = 0; i < 100_000 && k.state === KcpState.Open; i++) {
      clock += 20;
      k.flush();
    }
    assert.equal(k.state, KcpState.Dead);
  });
});
