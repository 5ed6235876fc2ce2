import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import type { NatHoleLink, VisitorLink } from '../../src/proxy/client-context.js';
import { StcpVisitor } from '../../src/proxy/stcp/visitor.js';
import { TunnelState, XtcpVisitor } from '../../src/proxy/xtcp/visitor.js';
import type { NatHoleResp } from '../../src/protocol/messages.js';
import { silentLogger } from '../../src/util/logger.js';
import { clientConfig, visitor } from '../helpers/config.js';
import { fakeTimers, type FakeTimers } from '../helpers/fake-timers.js';
import { startStunServer } from '../helpers/stun-server.js';
import { readBytes, socketPair } from '../helpers/streams.js';
import { waitFor } from '../helpers/tunnel.js';

const SK = 'p2p-secret';

/** The stcp visitor an xtcp visitor falls back to; it keeps what it is handed instead of dialling the server. */
class RecordingFallback extends StcpVisitor {
  readonly handed: Duplex[] = [];
  override handleConn(local: Duplex): void {
    this.handed.push(local);
  }
}

/**
 * An xtcp visitor whose server never introduces the owner until the test
 * answers: each NatHoleVisitor waits in `pending` for a reply. Its fallback
 * wait and retry gap run on `clock`.
 */
async function xtcpWithFallback(
  t: TestContext,
): Promise<{ xtcp: XtcpVisitor; fallback: RecordingFallback; clock: FakeTimers; pending: Array<(r: NatHoleResp) => void> }> {
  const stun = await startStunServer();
  t.after(() => stun.close());
  const pending: Array<(r: NatHoleResp) => void> = [];
  const natHole: NatHoleLink = {
    stunServer: `127.0.0.1:${stun.port}`,
    exchange: () => new Promise<NatHoleResp>((resolve) => pending.push(resolve)),
    report: () => {},
  };
  const link: VisitorLink = { runId: 'run', user: '', udpPacketSize: 1500, openStream: () => Promise.reject(new Error('not used here')), natHole };
  const config = clientConfig(1, {
    visitors: [
      visitor('stcp', 'relay', 'desk-relay', SK, -1),
      visitor('xtcp', 'p2p', 'desk', SK, -1, {
        fallbackTo: 'relay',
        fallbackTimeoutMs: 300,
        minRetryInterval: 90,
        natTraversal: { disableAssistedAddrs: true },
      }),
    ],
  });
  const fallback = new RecordingFallback(config.visitors[0]!, link, silentLogger);
  await fallback.start();
  const clock = fakeTimers();
  const xtcp = new XtcpVisitor(config.visitors[1]!, link, () => fallback, silentLogger, clock);
  await xtcp.start();
  t.after(() => xtcp.close());
  return { xtcp, fallback, clock, pending };
}

test('xtcp: a connection waits exactly fallbackTimeoutMs for a tunnel, then goes to the fallback with its bytes', async (t) => {
  const { xtcp, fallback, clock, pending } = await xtcpWithFallback(t);
  const [user, local] = await socketPair(t);
  xtcp.handleConn(local);
  await waitFor(() => pending.length === 1, 'the NatHoleVisitor request');

  clock.tick(299);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(fallback.handed, [], 'still waiting for the tunnel 1 ms before fallbackTimeoutMs');
  clock.tick(1);
  await waitFor(() => fallback.handed.length === 1, 'the hand-over');
  assert.equal(fallback.handed[0], local, 'the local connection itself is handed over');
  assert.equal(xtcp.fallbacks, 1);
  user.write('through the relay');
  assert.equal((await readBytes(fallback.handed[0]!, 17)).toString(), 'through the relay', 'its bytes reach the fallback');
});

test('xtcp: after a failed attempt, connections go straight to the fallback until minRetryInterval has passed', async (t) => {
  const { xtcp, fallback, clock, pending } = await xtcpWithFallback(t);
  const [, first] = await socketPair(t);
  xtcp.handleConn(first);
  await waitFor(() => pending.length === 1, 'the first NatHoleVisitor request');
  clock.tick(300);
  await waitFor(() => fallback.handed.length === 1, 'the first hand-over');
  // The server refuses the attempt: punching failed.
  pending[0]!({ error: 'no such proxy' });
  await waitFor(() => xtcp.tunnelState === TunnelState.None, 'the attempt to end');

  clock.tick(89_999);
  const [, second] = await socketPair(t);
  xtcp.handleConn(second);
  await waitFor(() => fallback.handed.length === 2, 'the second hand-over');
  assert.equal(fallback.handed[1], second, 'handed over without waiting for any timer');
  assert.equal(pending.length, 1, 'no new attempt inside minRetryInterval');

  clock.tick(1);
  const [, third] = await socketPair(t);
  xtcp.handleConn(third);
  await waitFor(() => pending.length === 2, 'a new attempt once minRetryInterval has passed');
  assert.equal(fallback.handed.length, 2, 'the third connection waits for that attempt');
});
