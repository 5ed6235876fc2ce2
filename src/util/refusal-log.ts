import { clipped } from './peer-string.js';
import { describeError } from './errors.js';
import type { LogFields, Logger } from './logger.js';

/** Distinct addresses remembered per reason and interval; beyond it they are counted as "at least". */
const MAX_ADDRESSES = 1024;
/** Distinct reasons tracked at once; beyond it refusals are summed up under OTHER_REASONS. */
const MAX_REASONS = 64;
const OTHER_REASONS = 'other reasons (too many distinct reasons to tell apart)';

interface Tally {
  count: number;
  addresses: Set<string>;
  timer: NodeJS.Timeout;
}

/**
 * Refused connections (on the server before login: scans, timeouts, caps; on
 * the client: visitors of a proxy whose plugin could not start) are logged
 * one by one at debug level only. At warn level each reason appears at once the first
 * time, then at most once per interval as a count, so a scan cannot flood
 * the log: "12 connections refused in the last 60 s: login timeout (from 3 addresses)".
 */
export class RefusalLog {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  /** `reason` is a fixed category (no addresses in it); `fields` go to the debug line only. */
  refused(given: string, address: string, fields: LogFields = {}): void {
    this.log.debug(`connection refused: ${given}`, { remote: address, ...fields });
    // Reasons should be fixed categories; should some ever carry peer data,
    // the overflow still warns, so a flood of new reasons cannot hide a later one.
    const reason = this.tallies.has(given) || this.tallies.size < MAX_REASONS ? given : OTHER_REASONS;
    const tally = this.tallies.get(reason);
    if (tally) {
      tally.count++;
      if (tally.addresses.size < MAX_ADDRESSES) tally.addresses.add(address);
      return;
    }
    this.log.warn(`connection refused: ${reason}`, {
      remote: address,
      ...fields,
      note: `further refusals for this reason are summed up every ${this.intervalMs / 1000} s`,
    });
    const timer = setInterval(() => this.flush(reason), this.intervalMs);
    timer.unref();
    this.tallies.set(reason, { count: 0, addresses: new Set(), timer });
  }

  private flush(reason: string): void {
    const tally = this.tallies.get(reason);
    if (!tally) return;
    if (tally.count === 0) {
      // A quiet interval: the next refusal is reported at once again.
      clearInterval(tally.timer);
      this.tallies.delete(reason);
      return;
    }
    const n = tally.addresses.size;
    const from = n >= MAX_ADDRESSES ? `at least ${n} addresses` : `${n} address${n === 1 ? '' : 'es'}`;
    this.log.warn(`${tally.count} connection${tally.count === 1 ? '' : 's'} refused in the last ${this.intervalMs / 1000} s: ${reason} (from ${from})`);
    tally.count = 0;
    tally.addresses.clear();
  }

  close(): void {
    for (const t of this.tallies.values()) clearInterval(t.timer);
    this.tallies.clear();
  }
}

/**
 * A connection that failed before its first frp byte (scans and probes land
 * here), as a category for the summed-up warning: its reason without the
 * peer's address and port, so one cause from many peers counts as one.
 */
export function sniffFailure(err: Error): string {
  return clipped(describeError(err).replace(/\[?[0-9a-fA-F:.]*[0-9a-fA-F]\]?:\d+/g, '*'), 160);
}
