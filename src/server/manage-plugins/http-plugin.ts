import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpPluginSettings } from '../../config/types.js';
import { BurrowError } from '../../util/errors.js';
import { type ManageOp, PLUGIN_API_VERSION, type PluginAnswer } from './types.js';

/** A plugin's answer is a few hundred bytes; this bounds what a broken one can make us buffer. */
export const PLUGIN_MAX_ANSWER_BYTES = 1024 * 1024;
/** Connections kept to one plugin; further requests wait for one (within their timeout). */
const PLUGIN_MAX_SOCKETS = 64;

/**
 * The HTTP client of one `[[httpPlugins]]` entry: one POST per operation,
 * `?op=…&version=0.1.0`, `X-Frp-Reqid`, JSON both ways, as frps sends it.
 * Unlike frp, every request has a deadline and the answer a size bound.
 */
export class HttpManagePlugin {
  readonly name: string;
  readonly ops: ReadonlySet<ManageOp>;
  /** addr + path, with `http://` in front when addr names no scheme (as frp) */
  readonly url: string;
  private readonly https: boolean;
  private readonly agent: HttpAgent;

  constructor(
    settings: HttpPluginSettings,
    private readonly timeoutMs: number,
  ) {
    this.name = settings.name;
    this.ops = new Set(settings.ops as ManageOp[]);
    const url = `${settings.addr}${settings.path}`;
    this.https = url.startsWith('https://');
    this.url = this.https || url.startsWith('http://') ? url : `http://${url}`;
    // frp: tlsVerify defaults to false, so an https plugin's certificate is not checked unless asked.
    this.agent = this.https
      ? new HttpsAgent({ keepAlive: true, maxSockets: PLUGIN_MAX_SOCKETS, rejectUnauthorized: settings.tlsVerify })
      : new HttpAgent({ keepAlive: true, maxSockets: PLUGIN_MAX_SOCKETS });
  }

  /** One request, answered or failed (BURROW_PLUGIN_FAILED / BURROW_TIMEOUT) within the deadline. */
  call(op: ManageOp, content: object, reqId: string): Promise<PluginAnswer> {
    const body = JSON.stringify({ version: PLUGIN_API_VERSION, op, content });
    // Go's url.Values.Encode sorts the keys: op before version.
    const target = `${this.url}?op=${encodeURIComponent(op)}&version=${PLUGIN_API_VERSION}`;
    const request = this.https ? httpsRequest : httpRequest;
    return new Promise<PluginAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, answer?: PluginAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          req.destroy();
          reject(err);
        } else if (answer) {
          resolve(answer);
        }
      };
      const req = request(
        target,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Frp-Reqid': reqId },
        },
        (res) => {
          readAnswer(res).then(
            (answer) => finish(undefined, answer),
            (err: Error) => finish(err),
          );
        },
      );
      const timer = setTimeout(() => finish(new BurrowError('BURROW_TIMEOUT', `no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      req.on('error', (err) => finish(err));
      req.end(body);
    });
  }

  /** Drops the kept-alive connections (server stop). */
  close(): void {
    this.agent.destroy();
  }
}

/** The body of a 200 answer, bounded, as a PluginAnswer; anything else fails. */
async function readAnswer(res: IncomingMessage): Promise<PluginAnswer> {
  if (res.statusCode !== 200) {
    res.resume();
    throw new BurrowError('BURROW_PLUGIN_FAILED', `do http request error code: ${res.statusCode ?? 0}`);
  }
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > PLUGIN_MAX_ANSWER_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > PLUGIN_MAX_ANSWER_BYTES) throw tooLarge();
    chunks.push(buf);
  }
  return parseAnswer(Buffer.concat(chunks).toString('utf8'));
}

function tooLarge(): BurrowError {
  return new BurrowError('BURROW_PLUGIN_FAILED', `answer larger than ${PLUGIN_MAX_ANSWER_BYTES} bytes`);
}

/** `{reject, reject_reason, unchange, content}`; keys matched ignoring case and nulls as absent, as Go's decoder does. */
export function parseAnswer(text: string): PluginAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BurrowError('BURROW_PLUGIN_FAILED', 'answer is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BurrowError('BURROW_PLUGIN_FAILED', 'answer is not a JSON object');
  }
  const fields = parsed as Record<string, unknown>;
  const get = (name: string): unknown => {
    if (name in fields) return fields[name];
    const key = Object.keys(fields).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : fields[key];
  };
  const typed = <T>(name: string, type: 'boolean' | 'string', zero: T): T => {
    const v = get(name);
    if (v === undefined || v === null) return zero;
    if (typeof v !== type) throw new BurrowError('BURROW_PLUGIN_FAILED', `answer: ${name} must be a ${type}`);
    return v as T;
  };
  return {
    reject: typed('reject', 'boolean', false),
    rejectReason: typed('reject_reason', 'string', ''),
    unchange: typed('unchange', 'boolean', false),
    content: get('content') ?? undefined,
  };
}
