/**
 * Watches one relayed HTTP/1.x connection from the side, as the client's
 * relay passes its bytes on untouched: the bytes toward the local service
 * (requests) and back (responses) are parsed with the vhost's own head
 * parsers and body framer, requests are paired with responses in order
 * (pipelining included), and each finished pair is handed to the sink.
 *
 * It never changes or delays the relay. Anything it cannot follow (not HTTP,
 * a framing error) stops the recording of that connection only; what was
 * pending is recorded with the reason.
 */
import { performance } from 'node:perf_hooks';
import { describeError } from '../util/errors.js';
import { BodyFramer, requestBodyKind, responseBodyKind } from '../vhost/body-framer.js';
import { getHeader, RequestHeadParser, type RequestHead } from '../vhost/request-head.js';
import { isInterimResponse, ResponseHeadParser, switchesToTunnel, type ResponseHead } from '../vhost/response-head.js';
import { BodyCapture, EMPTY_BODY, type CaptureBudget, type NewExchange, type RecordedBody } from './exchange.js';

/** Heads toward the local service carry the server's added headers: allow more than the vhost's 16 KiB. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Requests sent ahead of their responses (pipelining) that are followed; beyond it, recording stops. */
const MAX_PIPELINED = 16;

const NO_BYTES = Buffer.alloc(0);

const elapsed = (request: { startedPerf: number }): number => Math.round((performance.now() - request.startedPerf) * 10) / 10;

/** `buf` without its first `n` bytes; no new Buffer object when nothing is left (the usual case). */
function skip(buf: Buffer, n: number): Buffer {
  return n >= buf.length ? NO_BYTES : buf.subarray(n);
}

enum Side {
  Head = 'head',
  Body = 'body',
  /** an upgrade was asked for: wait for the response to say whether the protocol switches */
  AwaitSwitch = 'await-switch',
  /** not HTTP any more (WebSocket, CONNECT) or given up: bytes pass unrecorded */
  Off = 'off',
}

interface PendingRequest {
  head: RequestHead;
  startedAt: number;
  startedPerf: number;
  body: BodyCapture;
  /** the request body has been read to its end */
  bodyDone: boolean;
  /** the response ended before the request body did (an early 413 or 401): recorded once the body ends */
  answered?: { response: NewExchange['response']; extra: Pick<NewExchange, 'upgraded' | 'error'>; durationMs: number };
}

export interface ConnectionMeta {
  proxy: string;
  visitor: string;
  replayOf?: number;
}

export class HttpConnectionRecorder {
  private requestSide = Side.Head;
  private responseSide = Side.Head;
  private requestParser = new RequestHeadParser({ maxHeadBytes: MAX_HEAD_BYTES });
  private responseParser = new ResponseHeadParser();
  private requestFramer: BodyFramer | undefined;
  private responseFramer: BodyFramer | undefined;
  private responseHead: ResponseHead | undefined;
  private responseBody: BodyCapture | undefined;
  /** requests whose response has not ended, oldest first */
  private readonly pending: PendingRequest[] = [];
  /** the request whose body is being read (it may already be answered and out of `pending`) */
  private reading: PendingRequest | undefined;
  private closed = false;

  constructor(
    private readonly meta: ConnectionMeta,
    private readonly maxBodyBytes: number,
    private readonly sink: (exchange: NewExchange) => void,
    private readonly budget?: CaptureBudget,
  ) {}

  /** Bytes on their way to the local service. */
  request(chunk: Buffer): void {
    if (this.requestSide === Side.Off || this.closed) return;
    try {
      this.feedRequest(chunk);
    } catch (err) {
      this.giveUp(`request stream not followed: ${describeError(err)}`);
    }
  }

  /** Bytes on their way back to the visitor. */
  response(chunk: Buffer): void {
    if (this.responseSide === Side.Off || this.closed) return;
    try {
      this.feedResponse(chunk);
    } catch (err) {
      this.giveUp(`response stream not followed: ${describeError(err)}`);
    }
  }

  /** The connection ended: a body that runs until close is complete now; anything else pending is cut short. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.responseSide === Side.Body && this.responseFramer?.completeAtClose) this.finishResponse();
    this.flushPending('the connection closed before the response ended');
  }

  private feedRequest(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      switch (this.requestSide) {
        case Side.Head: {
          const head = this.requestParser.push(rest);
          if (head === undefined) return;
          rest = this.requestParser.takeRemainder();
          this.requestParser = new RequestHeadParser({ maxHeadBytes: MAX_HEAD_BYTES });
          if (this.pending.length >= MAX_PIPELINED) throw new Error(`more than ${MAX_PIPELINED} requests ahead of their responses`);
          const body = new BodyCapture(this.maxBodyBytes, this.budget);
          const request: PendingRequest = { head, startedAt: Date.now(), startedPerf: performance.now(), body, bodyDone: false };
          this.pending.push(request);
          this.reading = request;
          this.requestFramer = new BodyFramer(requestBodyKind(head), { side: 'request', onContent: (c, s, e) => body.add(c, s, e) });
          if (this.requestFramer.done) this.requestBodyEnded(request);
          else this.requestSide = Side.Body;
          break;
        }
        case Side.Body: {
          const framer = this.requestFramer!;
          rest = skip(rest, framer.consume(rest));
          if (framer.done) this.requestBodyEnded(this.reading!);
          break;
        }
        case Side.AwaitSwitch:
        case Side.Off:
          return;
      }
    }
  }

  /** A request has been read whole: record it if it was answered early, and look for the next one. */
  private requestBodyEnded(request: PendingRequest): void {
    request.bodyDone = true;
    this.reading = undefined;
    const { head } = request;
    this.requestSide = head.method === 'CONNECT' || getHeader(head.headers, 'upgrade') !== undefined ? Side.AwaitSwitch : Side.Head;
    if (request.answered) this.emit(request, request.answered.response, request.answered.extra, request.answered.durationMs);
  }

  private feedResponse(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      switch (this.responseSide) {
        case Side.Head: {
          const request = this.pending[0];
          if (request === undefined) throw new Error('a response arrived with no request waiting for it');
          const head = this.responseParser.push(rest);
          if (head === undefined) return;
          rest = this.responseParser.takeRemainder();
          this.responseParser = new ResponseHeadParser();
          if (isInterimResponse(head)) break;
          this.responseHead = head;
          if (switchesToTunnel(request.head.method, head)) {
            this.responseBody = undefined;
            this.finishResponse(true);
            this.requestSide = Side.Off;
            this.responseSide = Side.Off;
            return;
          }
          if (this.requestSide === Side.AwaitSwitch && this.pending.length === 1) this.requestSide = Side.Head;
          const body = new BodyCapture(this.maxBodyBytes, this.budget);
          this.responseBody = body;
          this.responseFramer = new BodyFramer(responseBodyKind(request.head.method, head), {
            side: 'response',
            onContent: (c, s, e) => body.add(c, s, e),
          });
          if (this.responseFramer.done) this.finishResponse();
          else this.responseSide = Side.Body;
          break;
        }
        case Side.Body: {
          const framer = this.responseFramer!;
          rest = skip(rest, framer.consume(rest));
          if (framer.done) {
            this.finishResponse();
            this.responseSide = Side.Head;
          }
          break;
        }
        case Side.AwaitSwitch:
        case Side.Off:
          return;
      }
    }
  }

  private finishResponse(upgraded = false): void {
    const request = this.pending.shift();
    const head = this.responseHead;
    if (request === undefined || head === undefined) return;
    const body: RecordedBody = this.responseBody?.result() ?? EMPTY_BODY;
    this.responseHead = undefined;
    this.responseBody = undefined;
    const response = { version: head.version, status: head.status, reason: head.reason, headers: head.headers, body };
    const extra = upgraded ? { upgraded } : {};
    if (request.bodyDone || upgraded || this.closed) this.emit(request, response, extra);
    else request.answered = { response, extra, durationMs: elapsed(request) };
  }

  /**
   * Hands one exchange to the sink. A request whose body never ended is marked
   * truncated (a replay must not send it as if whole). The sink's failures
   * (a store that cannot write) stay here: recording never breaks the relay.
   */
  private emit(
    request: PendingRequest,
    response: NewExchange['response'],
    extra: Pick<NewExchange, 'upgraded' | 'error'>,
    durationMs = elapsed(request),
  ): void {
    const { head } = request;
    const captured = request.body.result();
    const body = request.bodyDone || extra.upgraded ? captured : { ...captured, truncated: true };
    const error = extra.error ?? (request.bodyDone || extra.upgraded ? undefined : 'the connection closed before the request body ended');
    try {
      this.sink({
        proxy: this.meta.proxy,
        visitor: this.meta.visitor,
        startedAt: request.startedAt,
        durationMs,
        request: { method: head.method, target: head.target, version: head.version, headers: head.headers, body },
        ...(response ? { response } : {}),
        ...(extra.upgraded ? { upgraded: true } : {}),
        ...(error ? { error } : {}),
        ...(this.meta.replayOf !== undefined ? { replayOf: this.meta.replayOf } : {}),
      });
    } catch {
      // The store reports its own failures ('storeError'); this exchange is lost, nothing else.
    }
  }

  /** Records every request still waiting, with why it has no (whole) response. */
  private flushPending(reason: string): void {
    const head = this.responseHead;
    const first = this.pending.shift();
    if (first && head) {
      const body = this.responseBody?.result() ?? EMPTY_BODY;
      this.emit(first, { version: head.version, status: head.status, reason: head.reason, headers: head.headers, body }, { error: reason });
    } else if (first) {
      this.emit(first, undefined, { error: reason });
    }
    for (const p of this.pending.splice(0)) this.emit(p, undefined, { error: reason });
    // Answered early, its body still arriving when the connection ended.
    const answered = this.reading?.answered ? this.reading : undefined;
    if (answered?.answered)
      this.emit(
        answered,
        answered.answered.response,
        { ...answered.answered.extra, error: 'the connection closed before the request body ended' },
        answered.answered.durationMs,
      );
    this.reading = undefined;
    this.responseHead = undefined;
    this.responseBody = undefined;
  }

  private giveUp(reason: string): void {
    this.requestSide = Side.Off;
    this.responseSide = Side.Off;
    this.flushPending(reason);
  }
}
