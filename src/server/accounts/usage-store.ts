import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { BurrowError, describeError } from '../../util/errors.js';

/** One user's bytes (in + out) in the quota period that began at `periodStart` (ms, UTC). */
export interface UsageRecord {
  periodStart: number;
  bytes: number;
}

/**
 * Where the users' counters live: this file (one server) or the cluster's
 * Redis (src/cluster/shared-usage.ts). Reads are synchronous (admission
 * decides on the spot, from what is known locally); `save` is called every
 * `saveIntervalMs` and at stop, with the user connections open on this
 * server per user, which a shared ledger publishes for the other nodes.
 */
export interface UsageLedger {
  /** where it keeps the counters, for log lines */
  readonly where: string;
  readonly saveIntervalMs: number;
  load(): void;
  used(name: string, periodStart: number): number;
  add(name: string, bytes: number, periodStart: number): void;
  save(openConnections: ReadonlyMap<string, number>): void | Promise<void>;
  /** user connections `name` holds on other servers of the cluster (0 on one server) */
  elsewhere(name: string): number;
}

/** Users kept in the file; a file naming more is refused rather than read into memory whole. */
const MAX_RECORDS = 100_000;
/** The file is read whole at start: a larger one is not ours. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The users' traffic counters, kept across restarts in a small JSON file
 * (`{"version":1,"users":{"alice":{"periodStart":…,"bytes":…}}}`). A write
 * goes to a new file, fsynced, renamed over the old one, so a crash leaves
 * the old counters or the new ones, never half a file. The owner decides
 * when to save (bounded frequency); this only keeps the numbers.
 */
export class UsageStore implements UsageLedger {
  /** How often the counters are written (when they changed): the most a crash loses. */
  readonly saveIntervalMs = 10_000;
  private readonly records = new Map<string, UsageRecord>();
  private dirty = false;

  /** `file` undefined: counters in memory only. */
  constructor(readonly file: string | undefined) {}

  get where(): string {
    return this.file ?? 'memory';
  }

  /** one server: no connections elsewhere */
  elsewhere(): number {
    return 0;
  }

  /** Reads the file when there is one; a missing file is a fresh start, an unreadable one a readable error (quotas must not reset silently). */
  load(): void {
    if (!this.file) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      // A fresh start: written at the first save, so the file shows up (and an unwritable place is reported) early.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.dirty = true;
        return;
      }
      throw new BurrowError('BURROW_CONFIG_INVALID', `usage file "${this.file}": ${describeError(err)}`);
    }
    if (text.length > MAX_FILE_BYTES) throw new BurrowError('BURROW_CONFIG_INVALID', `usage file "${this.file}" is larger than ${MAX_FILE_BYTES} bytes`);
    const bad = (why: string): BurrowError =>
      new BurrowError('BURROW_CONFIG_INVALID', `usage file "${this.file}" is not burrow's usage counters (${why}); move it away to start the counters afresh`);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw bad(describeError(err));
    }
    const users = (data as { version?: unknown; users?: unknown } | null)?.users;
    if ((data as { version?: unknown }).version !== 1 || typeof users !== 'object' || users === null) throw bad('no version 1 "users" table');
    const entries = Object.entries(users as Record<string, unknown>);
    if (entries.length > MAX_RECORDS) throw bad(`more than ${MAX_RECORDS} users`);
    for (const [name, rec] of entries) {
      const { periodStart, bytes } = (rec ?? {}) as Partial<UsageRecord>;
      if (!Number.isSafeInteger(periodStart) || !Number.isSafeInteger(bytes) || (bytes as number) < 0) throw bad(`the entry of "${name}"`);
      this.records.set(name, { periodStart: periodStart as number, bytes: bytes as number });
    }
  }

  /** Bytes `name` used in the period that began at `periodStart` (an older period counts as 0). */
  used(name: string, periodStart: number): number {
    const rec = this.records.get(name);
    return rec && rec.periodStart === periodStart ? rec.bytes : 0;
  }

  /** Adds traffic to the period that began at `periodStart`; a new period starts the count again. */
  add(name: string, bytes: number, periodStart: number): void {
    if (bytes <= 0) return;
    const rec = this.records.get(name);
    if (rec && rec.periodStart === periodStart) rec.bytes += bytes;
    else this.records.set(name, { periodStart, bytes });
    this.dirty = true;
  }

  /** Writes the counters when they changed since the last write; errors are the caller's to log. */
  save(): void {
    if (!this.file || !this.dirty) return;
    const text = JSON.stringify({ version: 1, users: Object.fromEntries(this.records) });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.dirty = false;
  }
}
