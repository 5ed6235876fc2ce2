/**
 * When KCP sends a segment again, on a fake clock with datagrams carried by
 * hand: the tail of a window still being acknowledged is not resent by
 * timeout, and a segment resent early is not resent early again before
 * its timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kcp } from '../../src/transport/kcp/kcp.js';

const MSS = 1350 - 24;

/** Two peers whose datagrams wait in `out[side]` until the test delivers them. */
function peers() {
  const clock = { now: 1_000 };
  const out: Buffer[][] = [[], []];
  const make = (side: 0 | 1): Kcp =>
    new Kcp({
      conv: 7,
      now: () => clock.now,
      mtu: 1350,
      noDelay: true,
      intervalMs: 20,
      fastResend: 2,
      noCongestionWindow: true,
      stream: true,
      sendWindow: 1024,
      receiveWindow: 1024,
      output: (d) => (out[side] as Buffer[]).push(Buffer.from(d)),
    });
  const a = make(0);
  const b = make(1);
  const take = (side: 0 | 1): Buffer[] => (out[side] as Buffer[]).splice(0);
  const deliver = (to: Kcp, datagrams: Buffer[]): void => {
    for (const d of datagrams) assert.equal(to.input(d, true), 'ok');
  };
  return { clock, a, b, take, deliver };
}

describe('KCP resends', () => {
  it('does not time out the tail of a window while acks for its head keep arriving', () => {
    const { clock, a, b, take, deliver } = peers();
    a.send(Buffer.alloc(64 * MSS, 1));
    a.flush();
    const window = take(0);
    assert.equal(window.length, 64);

    // The head arrives and is acknowledged 150 ms later; the tail is still on its way.
    deliver(b, window.slice(0, 32));
    b.flush();
    clock.now += 150;
    deliver(a, take(1));
    // Past the tail's first deadline (the initial 200 ms RTO), but within an RTO of the last ack.
    clock.now += 60;
    a.flush();
    assert.equal(a.resentByTimeout, 0, 'the tail was queued behind acknowledged data, not lost');
    assert.equal(take(0).length, 0);

    // No ack for a whole RTO after that: now it times out.
    clock.now += 200;
    a.flush();
    assert.equal(a.resentByTimeout, 32);
  });

  it('resends a segment early once, then only on its timeout', () => {
    const { clock, a, b, take, deliver } = peers();
    a.send(Buffer.alloc(10 * MSS, 2));
    a.flush();
    const first = take(0);
    deliver(b, first.slice(1)); // segment 0 lost
    b.flush();
    clock.now += 40;
    deliver(a, take(1));
    a.flush();
    assert.equal(a.resentEarly, 1);
    take(0); // the resend is lost too

    // More data goes through and is acknowledged: segment 0 is not sent early again.
    a.send(Buffer.alloc(10 * MSS, 3));
    a.flush();
    deliver(b, take(0));
    b.flush();
    clock.now += 40;
    deliver(a, take(1));
    a.flush();
    assert.equal(a.resentEarly, 1);
    assert.equal(a.resentByTimeout, 0);

    clock.now += 1_000;
    a.flush();
    assert.equal(a.resentByTimeout, 1, 'its timeout still resends it');
  });
});
