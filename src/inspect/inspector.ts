/**
 * The client's HTTP inspector: records the exchanges of every `inspect`
 * proxy into one store and replays them against the local service.
 */
import type { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { Exchange } from './exchange.js';
import { ExchangeStore } from './exchange-store.js';
import { HttpConnectionRecorder } from './http-recorder.js';
import { replayExchange, type ReplayEdits, type ReplayTarget } from './replay.js';

export interface InspectorOptions {
  maxExchanges: number;
  maxBodyBytes: number;
  /** JSON lines file the exchanges persist to; empty = memory only */
  storeFile: string;
  logger?: Logger;
}

export class HttpInspector {
  readonly store: ExchangeStore;
  private readonly log: Logger;

  constructor(private readonly opts: InspectorOptions) {
    this.log = opts.logger ?? silentLogger;
    this.store = new ExchangeStore({ maxExchanges: opts.maxExchanges, ...(opts.storeFile ? { file: opts.storeFile } : {}) });
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
    const recorder = new HttpConnectionRecorder({ proxy, visitor }, this.opts.maxBodyBytes, (e) => this.store.add(e));
    toLocal.on('data', (c: Buffer) => recorder.request(c));
    local.on('data', (c: Buffer) => recorder.response(c));
    const done = (): void => recorder.close();
    toLocal.once('close', done);
    local.once('close', done);
  }

  /** Replays exchange `id` to `target` and stores the new exchange. */
  async replay(id: number, edits: ReplayEdits, target: ReplayTarget): Promise<Exchange> {
    const original = this.store.get(id);
    if (!original) throw new BurrowError('BURROW_REPLAY_INVALID', `no recorded exchange ${id} (it may have been cleared or pushed out of the last ${this.opts.maxExchanges})`);
    const fresh = await replayExchange(original, edits, target, this.opts.maxBodyBytes);
    const stored = this.store.add(fresh);
    this.log.info('request replayed', { proxy: original.proxy, id, as: stored.id, status: stored.response?.status ?? 0 });
    return stored;
  }
}
