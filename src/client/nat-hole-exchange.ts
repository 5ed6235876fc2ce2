import type { Message, NatHoleResp } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';

/**
 * NatHoleResp arrives on the control connection, matched to its request by
 * transaction id. Waiters are bounded by their timeout; an answer nobody
 * waits for is dropped.
 */
export class NatHoleExchange {
  private readonly waiters = new Map<string, (resp: NatHoleResp) => void>();

  deliver(resp: NatHoleResp): void {
    const waiter = this.waiters.get(resp.transaction_id ?? '');
    if (waiter) {
      this.waiters.delete(resp.transaction_id ?? '');
      waiter(resp);
    }
  }

  /** Sends `msg` (its transaction id set) with `send` and waits for the answer. */
  request(send: (msg: Message) => boolean, msg: Message & { type: 'NatHoleVisitor' | 'NatHoleClient' }, timeoutMs: number): Promise<NatHoleResp> {
    const tid = msg.body.transaction_id ?? '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(tid);
        reject(new BurrowError('BURROW_TIMEOUT', `no NatHoleResp from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(tid, (resp) => {
        clearTimeout(timer);
        resolve(resp);
      });
      if (!send(msg)) {
        clearTimeout(timer);
        this.waiters.delete(tid);
        reject(new BurrowError('BURROW_CLOSED', 'not connected to the server'));
      }
    });
  }
}
