/**
 * Replay: send a recorded request (optionally edited) straight to the local
 * service again and record what comes back as a new exchange, so a webhook
 * can be re-run without waiting for the remote service to call again.
 */
import { connect } from 'node:net';
import { BurrowError, describeError } from '../util/errors.js';
import { hasBadValueChar, isToken, type HeaderList } from '../vhost/head-scanner.js';
import type { Exchange, NewExchange } from './exchange.js';
import { HttpConnectionRecorder } from './http-recorder.js';

/** A replay that gets no whole response in this long fails. */
export const REPLAY_TIMEOUT_MS = 30_000;

/** What a replay may change; anything absent is taken from the recording. */
export interface ReplayEdits {
  method?: string;
  target?: string;
  headers?: HeaderList;
  /** the new body as text (UTF-8) */
  body?: string;
  /** or as base64, for binary bodies */
  bodyBase64?: string;
}

export interface ReplayTarget {
  host: string;
  port: number;
}

const invalid = (msg: string): BurrowError => new BurrowError('BURROW_REPLAY_INVALID', msg);

/** Checks edits that arrived as JSON from the page: every field with its expected shape. */
export function parseReplayEdits(json: unknown): ReplayEdits {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw invalid('replay edits must be a JSON object');
  const v = json as Record<string, unknown>;
  const known = new Set(['method', 'target', 'headers', 'body', 'bodyBase64']);
  for (const k of Object.keys(v)) if (!known.has(k)) throw invalid(`unknown replay field "${k}"; expected method, target, headers, body or bodyBase64`);
  const edits: ReplayEdits = {};
  if (v.method !== undefined) {
    if (typeof v.method !== 'string' || !isToken(v.method)) throw invalid('method must be an HTTP method token such as "POST"');
    edits.method = v.method;
  }
  if (v.target !== undefined) {
    // Visible ASCII only: the head is written as latin1, where a character past 0xff would lose its high byte (and could become CR LF).
    if (typeof v.target !== 'string' || !/^[\x21-\x7e]+$/.test(v.target))
      throw invalid('target must be a request target such as "/hook?x=1": visible ASCII, no spaces (percent-encode the rest)');
    edits.target = v.target;
  }
  if (v.headers !== undefined) {
    if (!Array.isArray(v.headers)) throw invalid('headers must be a list of [name, value] pairs');
    edits.headers = v.headers.map((h: unknown, i) => {
      if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string')
        throw invalid(`headers[${i}] must be a [name, value] pair of strings`);
      if (!isToken(h[0])) throw invalid(`headers[${i}]: "${h[0]}" is not a valid header name`);
      if (hasBadValueChar(h[1])) throw invalid(`headers[${i}]: the value of ${h[0]} has a control character`);
      if (/[^\x00-\xff]/.test(h[1])) throw invalid(`headers[${i}]: the value of ${h[0]} has a character past U+00FF; header values are bytes (latin1)`);
      return [h[0], h[1]] as [string, string];
    });
  }
  if (v.body !== undefined && v.bodyBase64 !== undefined) throw invalid('give body or bodyBase64, not both');
  if (v.body !== undefined) {
    if (typeof v.body !== 'string') throw invalid('body must be a string');
    edits.body = v.body;
  }
  if (v.bodyBase64 !== undefined) {
    if (typeof v.bodyBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.bodyBase64)) throw invalid('bodyBase64 must be base64');
    edits.bodyBase64 = v.bodyBase64;
  }
  return edits;
}

/** Headers that describe the old message's framing or connection; the replay sets its own. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The request bytes to send: the recorded (or edited) head and body, framed by Content-Length, one request per connection. */
export function replayRequestBytes(original: Exchange, edits: ReplayEdits): Buffer {
  const req = original.request;
  let body: Buffer;
  if (edits.body !== undefined) body = Buffer.from(edits.body, 'utf8');
  else if (edits.bodyBase64 !== undefined) body = Buffer.from(edits.bodyBase64, 'base64');
  else if (req.body.truncated) {
    throw invalid(
      `the recorded request body was cut at ${req.body.bytes.length} of ${req.body.size} bytes, so it cannot be sent as it was; give a body to replay with`,
    );
  } else body = req.body.bytes;
  const headers = (edits.headers ?? req.headers).filter(([name]) => !FRAMING.has(name.toLowerCase()));
  const hadBody = req.headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
  if (body.length > 0 || hadBody) headers.push(['Content-Length', String(body.length)]);
  headers.push(['Connection', 'close']);
  const head = `${edits.method ?? req.method} ${edits.target ?? req.target} ${req.version}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * Sends the request to the local service and resolves with the exchange the
 * recorder made of it (the caller stores it). Fails with BURROW_REPLAY_FAILED
 * when the service cannot be reached or does not answer in time.
 */
export function replayExchange(original: Exchange, edits: ReplayEdits, target: ReplayTarget, maxBodyBytes: number): Promise<NewExchange> {
  const bytes = replayRequestBytes(original, edits);
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = connect({ host: target.host, port: target.port });
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new BurrowError('BURROW_REPLAY_FAILED', `the local service ${where} sent no whole response within ${REPLAY_TIMEOUT_MS} ms`))),
      REPLAY_TIMEOUT_MS,
    );
    const recorder = new HttpConnectionRecorder({ proxy: original.proxy, visitor: 'replay', replayOf: original.id }, maxBodyBytes, (e) =>
      settle(() => resolve(e)),
    );
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      recorder.request(bytes);
      socket.write(bytes);
    });
    socket.on('data', (c: Buffer) => recorder.response(c));
    socket.on('error', (err) => {
      if (!connected)
        settle(() => reject(new BurrowError('BURROW_REPLAY_FAILED', `cannot reach the local service ${where}: ${describeError(err)}`, { cause: err })));
    });
    // After the connect, a close without a whole response is recorded as such (the exchange carries the error).
    socket.once('close', () => recorder.close());
  });
}
