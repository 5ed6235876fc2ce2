import type { ServerLimits } from '../config/types.js';

export enum TicketState {
  Waiting = 'waiting',
  Released = 'released',
}

/**
 * One connection on the bind port that has not proven it knows the token
 * yet. It holds a place in the per-address and total counts until it is
 * released: on a successful Login, on a first message accepted without mux
 * (work or visitor connection), or when the connection closes. One still
 * waiting at the login deadline is dropped.
 */
export class PreAuthTicket {
  state = TicketState.Waiting;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly address: string,
    private readonly gate: PreAuthGate,
    deadlineMs: number,
    onDeadline: () => void,
  ) {
    this.timer = setTimeout(() => {
      if (this.state !== TicketState.Waiting) return;
      this.release();
      onDeadline();
    }, deadlineMs);
    this.timer.unref();
  }

  get waiting(): boolean {
    return this.state === TicketState.Waiting;
  }

  /** Idempotent. */
  release(): void {
    if (this.state === TicketState.Released) return;
    this.state = TicketState.Released;
    clearTimeout(this.timer);
    this.gate.leave(this.address);
  }
}

/** Why a connection was not let in; undefined when it was. */
export type GateRefusal = 'too many unauthenticated connections from this address' | 'too many unauthenticated connections';

/**
 * Counts connections that have not logged in, per source address and in
 * total (limits.preAuthPerIP, limits.preAuthTotal), so that a peer without
 * the token holds at most a bounded share of the server.
 */
export class PreAuthGate {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: Pick<ServerLimits, 'loginTimeout' | 'preAuthPerIP' | 'preAuthTotal'>) {}

  get waitingCount(): number {
    return this.total;
  }

  /**
   * A ticket, or the reason the connection is to be closed at once.
   * `hasClient`: a client is logged in from this address. Without tcpMux its
   * work connections arrive as new connections, a burst of visitors at once,
   * so the per-address cap does not apply there; the total still does.
   */
  enter(address: string, onDeadline: () => void, hasClient = false): PreAuthTicket | GateRefusal {
    const mine = this.perAddress.get(address) ?? 0;
    if (!hasClient && mine >= this.limits.preAuthPerIP) return 'too many unauthenticated connections from this address';
    if (this.total >= this.limits.preAuthTotal) return 'too many unauthenticated connections';
    this.perAddress.set(address, mine + 1);
    this.total++;
    return new PreAuthTicket(address, this, this.limits.loginTimeout * 1000, onDeadline);
  }

  /** @internal called once per ticket by PreAuthTicket.release */
  leave(address: string): void {
    const mine = (this.perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, mine);
    this.total--;
  }
}
