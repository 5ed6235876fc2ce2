/**
 * The client's HTTP inspector: records the exchanges of every `inspect`
 * proxy into one store and replays them against the local service.
 */
import type { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { CaptureBudget, type Exchange } from './exchange.js';
import { ExchangeStore } from './exchange-store.js';
import { HttpConnectionRecorder } from './http-recorder.js';
import { replayExchange, type ReplayEdits, type ReplayTarget } from './replay.js';

export interface InspectorOptions {
  maxExchanges: number;
  maxBodyBytes: number;
  /** bound on the store file's size (see ExchangeStore) */
  maxStoreBytes?: number;
  /** JSON lines file the exchanges persist to; empty = memory only */
  storeFile: string;
  logger?: Logger;
}

/** Bodies being recorded, all connections together (each is also cut at maxBodyBytes). */
export const IN_FLIGHT_BODY_BYTES = 32 * 1024 * 1024;
/** What the stored bodies may add up to; the oldest exchanges go first past it. */
export const STORED_BODY_BYTES = 128 * 1024 * 1024;

export class HttpInspector {
  readonly store: ExchangeStore;
  private readonly log: Logger;
  private readonly budget = new CaptureBudget(IN_FLIGHT_BODY_BYTES);

  constructor(private readonly opts: InspectorOptions) {
    this.log = opts.logger ?? silentLogger;
    this.store = new ExchangeStore({
      maxExchanges: opts.maxExchanges,
      maxBodyBytes: STORED_BODY_BYTES,
      ...(opts.maxStoreBytes !== undefined ? { maxStoreBytes: opts.maxStoreBytes } : {}),
      ...(opts.storeFile ? { file: opts.storeFile } : {}),
    });
    this.store.on('storeError', (err: Error) => this.log.warn('inspector store not written', { file: opts.storeFile, reason: err.message }));
  }

  /** Loads what the store file holds. */
  open(): Promise<void> {
    return this.store.open();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /**
   * Follows one relayed connection: `toLocal` is the visitor's side (plain
   * bytes, after decryption), `local` the socket to the local service.
   */
  observe(proxy: string, visitor: string, toLocal: Duplex, local: Duplex): void {
    const recorder = new HttpConnectionRecorder({ proxy, visitor }, this.opts.maxBodyBytes, (e) => this.store.add(e), this.budget);
    toLocal.on('data', (c: Buffer) => recorder.request(c));
    local.on('data', (c: Buffer) => recorder.response(c));
    const done = (): void => recorder.close();
    toLocal.once('close', done);
    local.once('close', done);
  }

  /** Replays exchange `id` to `target` and stores the new exchange. */
  async replay(id: number, edits: ReplayEdits, target: ReplayTarget): Promise<Exchange> {
    const original = this.store.get(id);
    if (!original)
      throw new BurrowError(
        'BURROW_REPLAY_INVALID',
        `no recorded exchange ${id} (it may have been cleared or pushed out of the last ${this.opts.maxExchanges})`,
      );
    const fresh = await replayExchange(original, edits, target, this.opts.maxBodyBytes);
    const stored = this.store.add(fresh);
    this.log.info('request replayed', { proxy: original.proxy, id, as: stored.id, status: stored.response?.status ?? 0 });
    return stored;
  }
}
