import { addressKey } from '../util/address.js';
import type { BindConn } from './bind-conn.js';
import type { ControlSession } from './control-session.js';

/**
 * The logged-in clients, by run id. Invariant kept here and nowhere else: a
 * control is in the table exactly when its physical connection is known and
 * its source address is counted once (the pre-auth gate lets addresses with a
 * live client past its per-address caps).
 */
export class ClientTable {
  private readonly byRunId = new Map<string, ControlSession>();
  /** the physical connection each control logged in on: its work connections must come the same way */
  private readonly bindOf = new WeakMap<ControlSession, BindConn>();
  /** live controls per source address key (IPv6 per /64) */
  private readonly perAddress = new Map<string, number>();

  get(runId: string): ControlSession | undefined {
    return this.byRunId.get(runId);
  }

  values(): IterableIterator<ControlSession> {
    return this.byRunId.values();
  }

  /**
   * The live client of `user` that logged in with this non-empty client id
   * under another run id: frps lets only one be online (a linear scan; the
   * table holds the server's clients, few enough, and it runs once per login).
   */
  otherWithClientId(user: string, clientId: string, runId: string): ControlSession | undefined {
    if (clientId === '') return undefined;
    for (const c of this.byRunId.values()) {
      if (c.runId !== runId && c.user === user && (c.login.client_id ?? '') === clientId) return c;
    }
    return undefined;
  }

  /** Whether a client is logged in from this address key (see addressKey). */
  hasAddress(key: string): boolean {
    return this.perAddress.has(key);
  }

  /** The physical connection `control` logged in on. */
  bindConnOf(control: ControlSession): BindConn | undefined {
    return this.bindOf.get(control);
  }

  add(control: ControlSession, bind: BindConn): void {
    this.byRunId.set(control.runId, control);
    this.bindOf.set(control, bind);
    const key = addressKey(control.remoteAddress);
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
  }

  /** Idempotent; a control replaced under its run id leaves the newer one in place. */
  remove(control: ControlSession): void {
    if (this.byRunId.get(control.runId) === control) this.byRunId.delete(control.runId);
    if (!this.bindOf.has(control)) return;
    this.bindOf.delete(control);
    const key = addressKey(control.remoteAddress);
    const left = (this.perAddress.get(key) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(key);
    else this.perAddress.set(key, left);
  }
}
