import type { EventEmitter } from 'node:events';
import { Backoff } from '../util/backoff.js';
import { BurrowError } from '../util/errors.js';

/** Proxy phases as frpc's admin API shows them. */
export type ProxyPhase = 'new' | 'wait start' | 'start error' | 'running' | 'check failed' | 'closed';

export interface ProxyStatus {
  readonly name: string;
  readonly type: string;
  phase: ProxyPhase;
  err: string;
  remoteAddr: string;
  /** "ip:port" as frpc shows it; "" when a plugin serves the proxy without a localPort */
  readonly localAddr: string;
  /** the plugin type serving the proxy, "" without one (frpc's status `plugin`) */
  readonly plugin: string;
  /** when the next registration attempt goes out (epoch ms), 0 when none is planned */
  nextRetryAt: number;
}

/** When a proxy's registration is sent again. */
export interface ProxyRetryTiming {
  /** the first wait after a refusal */
  firstMs: number;
  /** the wait never grows beyond this */
  maxMs: number;
  /** NewProxy unanswered this long is sent again */
  answerMs: number;
}

/**
 * frpc re-sends a refused NewProxy every 30 s and an unanswered one after
 * 20 s. burrow starts sooner (a name held by a client that just died is
 * often freed within seconds) and doubles, with jitter, up to frp's 30 s, so
 * a proxy that stays refused costs the server no more than frpc does.
 */
export const DEFAULT_PROXY_RETRY: ProxyRetryTiming = { firstMs: 3000, maxMs: 30_000, answerMs: 20_000 };

export enum RetryState {
  Idle = 'idle',
  /** NewProxy is out; without an answer it goes again */
  AwaitingAnswer = 'awaiting answer',
  /** refused; the next attempt is scheduled */
  Waiting = 'waiting',
}

/** One proxy's re-registration schedule; `fire` sends NewProxy again. */
export class ProxyRetry {
  state = RetryState.Idle;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  constructor(
    private readonly timing: ProxyRetryTiming,
    private readonly fire: () => void,
  ) {
    this.backoff = new Backoff(timing.firstMs, timing.maxMs, 0.2);
  }

  /** NewProxy was sent: send it again if the server does not answer in time. */
  sent(): void {
    this.arm(RetryState.AwaitingAnswer, this.timing.answerMs);
  }

  /** The server refused: returns when (epoch ms) the next attempt goes out. */
  refused(): number {
    const delay = this.backoff.next();
    this.arm(RetryState.Waiting, delay);
    return Date.now() + delay;
  }

  /** Running, or a new session: the next refusal starts from the first wait again. */
  reset(): void {
    this.cancel();
    this.backoff.reset();
  }

  /** Nothing more is sent (stopped, removed, unhealthy, session lost). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = RetryState.Idle;
  }

  private arm(state: RetryState, delay: number): void {
    clearTimeout(this.timer);
    this.state = state;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.state = RetryState.Idle;
      this.fire();
    }, delay);
    // A pending retry alone does not keep the process alive: the session does.
    this.timer.unref();
  }
}

/**
 * Resolves when proxy `name` runs; rejects with the server's reason at its
 * first refusal (the retry goes on), or when there is no such proxy.
 * `source` emits 'proxy' on every status change.
 */
export function waitForRunning(source: EventEmitter, statusOf: (name: string) => ProxyStatus | undefined, name: string): Promise<ProxyStatus> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const s = statusOf(name);
      if (!s) {
        reject(new BurrowError('BURROW_PROXY_REJECTED', `no proxy named "${name}"`));
        return true;
      }
      if (s.phase === 'running') resolve(s);
      else if (s.phase === 'start error') reject(new BurrowError('BURROW_PROXY_REJECTED', s.err));
      else return false;
      return true;
    };
    if (check()) return;
    const onChange = (): void => {
      if (check()) source.off('proxy', onChange);
    };
    source.on('proxy', onChange);
  });
}
