import type { Duplex } from 'node:stream';
import { reuseReadsToward } from './reused-reads.js';

/** Byte counters one relay updates in place; shared per proxy so no allocation happens per chunk. */
export interface TrafficCounter {
  /** bytes from the visitor (public side) toward the local service */
  bytesIn: number;
  /** bytes from the local service back to the visitor */
  bytesOut: number;
}

/**
 * After one side has half-closed, the other direction may go on (a request
 * sent, the response still streaming). But a peer that vanished looks exactly
 * like a half-close until something is written to it, so a half-closed pair
 * that stays silent this long is torn down rather than kept forever.
 */
export const HALF_CLOSE_IDLE_MS = 60_000;

export interface RelayOptions {
  counter?: TrafficCounter;
  halfCloseIdleMs?: number;
}

/**
 * Pipes `visitor` and `service` both ways until both directions have ended or
 * either side fails. Half-close is forwarded (end on one side ends the other's
 * writable side only). On any error or premature close both sides are destroyed,
 * so a hang-up in the middle of a stream never leaks the other socket.
 *
 * This is the relay hot path: a manual data/write/drain loop (as fast as
 * `pipe()`, measured faster than `pipeline()`), no allocation or logging per chunk.
 */
export function relay(visitor: Duplex, service: Duplex, opts: RelayOptions = {}): Promise<void> {
  const counter = opts.counter;
  const halfCloseIdleMs = opts.halfCloseIdleMs ?? HALF_CLOSE_IDLE_MS;
  return new Promise((resolve) => {
    let ended = 0;
    let directionsFlushed = 0;
    let done = false;
    let idleTimer: NodeJS.Timeout | undefined;

    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      visitor.destroy();
      service.destroy();
      resolve();
    };

    const onFlushed = (): void => {
      directionsFlushed += 1;
      if (directionsFlushed === 2) finish();
    };

    // Per direction: whether its source ended, and whether its destination
    // flushed the last writes after that. Listeners are plain on() and
    // shared where they can be: a relay is held by every idle connection,
    // and each once() costs a wrapper object and a bound function besides
    // the listener.
    const state = { visitorEnded: false, serviceEnded: false, toServiceFlushed: false, toVisitorFlushed: false };

    const forward = (from: Duplex, to: Duplex, inbound: boolean): void => {
      from.on('data', (chunk: Buffer) => {
        if (counter) {
          if (inbound) counter.bytesIn += chunk.length;
          else counter.bytesOut += chunk.length;
        }
        idleTimer?.refresh();
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        // A tail still being flushed to a slow reader is progress, not silence.
        idleTimer?.refresh();
        from.resume();
      });
      from.on('end', () => {
        if (inbound) state.visitorEnded = true;
        else state.serviceEnded = true;
        to.end();
        ended += 1;
        if (ended === 1) {
          idleTimer = setTimeout(finish, halfCloseIdleMs);
          idleTimer.unref();
        }
        // Torn down only once both directions have flushed their last writes:
        // the first to end may still be writing to a slow reader when the
        // second ends, and destroying its destination then would cut its tail.
        const flushed = (): void => {
          if (inbound) state.toServiceFlushed = true;
          else state.toVisitorFlushed = true;
          onFlushed();
        };
        if (to.writableFinished) flushed();
        else to.once('finish', flushed);
      });
      // on(), not once(): a second error after the teardown must still find a listener.
      from.on('error', finish);
      // A source that closes before its end, or a destination that closes
      // before our last writes left, is a hang-up: the other side goes too.
      // One 'close' listener per side answers for both of its roles.
      from.on('close', () => {
        if (inbound ? !state.visitorEnded || !state.toVisitorFlushed : !state.serviceEnded || !state.toServiceFlushed) finish();
      });
      // The stream may have been read in paused mode (the first message): start the flow.
      from.resume();
      reuseReadsToward(from, to);
    };

    forward(visitor, service, true);
    forward(service, visitor, false);
  });
}
