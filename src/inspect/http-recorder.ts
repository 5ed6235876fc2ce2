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
    if (this.responseSide === Side.Body && this.responseFramer?.completeAtClose) this.finishResponse();
    this.flushPending('the connection closed before the response ended');
    this.closed = true;
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
          this.pending.push({ head, startedAt: Date.now(), startedPerf: performance.now(), body });
          this.requestFramer = new BodyFramer(requestBodyKind(head), { side: 'request', onContent: (c, s, e) => body.add(c, s, e) });
          this.requestSide = this.requestFramer.done ? this.afterRequest(head) : Side.Body;
          break;
        }
        case Side.Body: {
          const framer = this.requestFramer!;
          rest = skip(rest, framer.consume(rest));
          if (framer.done) this.requestSide = this.afterRequest(this.pending[this.pending.length - 1]!.head);
          break;
        }
        case Side.AwaitSwitch:
        case Side.Off:
          return;
      }
    }
  }

  /** Where the request side goes once a request has been read whole. */
  private afterRequest(head: RequestHead): Side {
    if (head.method === 'CONNECT' || getHeader(head.headers, 'upgrade') !== undefined) return Side.AwaitSwitch;
    return Side.Head;
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
    this.emit(request, { version: head.version, status: head.status, reason: head.reason, headers: head.headers, body }, upgraded ? { upgraded } : {});
  }

  private emit(request: PendingRequest, response: NewExchange['response'], extra: Pick<NewExchange, 'upgraded' | 'error'>): void {
    const { head } = request;
    this.sink({
      proxy: this.meta.proxy,
      visitor: this.meta.visitor,
      startedAt: request.startedAt,
      durationMs: Math.round((performance.now() - request.startedPerf) * 10) / 10,
      request: { method: head.method, target: head.target, version: head.version, headers: head.headers, body: request.body.result() },
      ...(response ? { response } : {}),
      ...extra,
      ...(this.meta.replayOf !== undefined ? { replayOf: this.meta.replayOf } : {}),
    });
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
    this.responseHead = undefined;
    this.responseBody = undefined;
  }

  private giveUp(reason: string): void {
    this.requestSide = Side.Off;
    this.responseSide = Side.Off;
    this.flushPending(reason);
  }
}
