/**
 * One HTTP request and its response as they passed through a tunnel, as the
 * inspector keeps them. Bodies are the content bytes (chunk framing removed,
 * content codings such as gzip kept), cut at the recorder's cap.
 */
import type { HeaderList } from '../vhost/head-scanner.js';

export interface RecordedBody {
  /** the first bytes, at most the cap */
  bytes: Buffer;
  /** how many content bytes there were in all */
  size: number;
  truncated: boolean;
}

export interface RecordedRequest {
  method: string;
  target: string;
  version: string;
  headers: HeaderList;
  body: RecordedBody;
}

export interface RecordedResponse {
  version: string;
  status: number;
  reason: string;
  headers: HeaderList;
  body: RecordedBody;
}

export interface Exchange {
  /** increasing, unique within one store (and across restarts when persisted) */
  id: number;
  proxy: string;
  /** where the request came from, `ip:port` as the server saw it */
  visitor: string;
  /** epoch milliseconds when the request head was complete */
  startedAt: number;
  /** request head complete → response complete (or the connection's end) */
  durationMs: number;
  request: RecordedRequest;
  /** absent when the connection ended before a response head */
  response?: RecordedResponse;
  /** the connection switched protocols (WebSocket) after this response */
  upgraded?: boolean;
  /** why the exchange is incomplete, e.g. the connection closed mid-body */
  error?: string;
  /** the exchange this one replayed */
  replayOf?: number;
}

/** An exchange before the store gives it an id. */
export type NewExchange = Omit<Exchange, 'id'>;

/**
 * Bytes held by bodies still being recorded, across all connections: many
 * slow uploads at once must not add up to unbounded memory. Past it, bodies
 * are recorded as truncated.
 */
export class CaptureBudget {
  private used = 0;

  constructor(readonly max: number) {}

  /** Up to `n` bytes granted (maybe 0). */
  take(n: number): number {
    const granted = Math.max(0, Math.min(n, this.max - this.used));
    this.used += granted;
    return granted;
  }

  give(n: number): void {
    this.used -= n;
  }

  get inUse(): number {
    return this.used;
  }
}

/** Keeps the first `cap` content bytes of a body, copied: the relay's buffers are not retained. */
export class BodyCapture {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private done = false;

  constructor(
    private readonly cap: number,
    private readonly budget?: CaptureBudget,
  ) {}

  add(chunk: Buffer, start: number, end: number): void {
    this.total += end - start;
    const room = this.cap - this.kept;
    if (room <= 0 || this.done) return;
    const wanted = Math.min(room, end - start);
    const take = this.budget ? this.budget.take(wanted) : wanted;
    if (take === 0) return;
    this.parts.push(Buffer.from(chunk.subarray(start, start + take)));
    this.kept += take;
  }

  /** The body as recorded; its bytes leave the in-flight budget (the store bounds them from here). */
  result(): RecordedBody {
    if (!this.done) {
      this.done = true;
      this.budget?.give(this.kept);
    }
    if (this.total === 0) return EMPTY_BODY;
    return { bytes: Buffer.concat(this.parts, this.kept), size: this.total, truncated: this.total > this.kept };
  }
}

export const EMPTY_BODY: RecordedBody = Object.freeze({ bytes: Buffer.alloc(0), size: 0, truncated: false });
