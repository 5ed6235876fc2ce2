import type { ServerResponse } from 'node:http';
import type { BurrowClient } from '../client/client.js';
import type { Exchange, RecordedBody } from '../inspect/exchange.js';
import { parseReplayEdits } from '../inspect/replay.js';
import { describeError, isBurrowError } from '../util/errors.js';
import { getHeader } from '../vhost/headers.js';
import { apiError, type ApiResult, type ApiRoute } from './api-server.js';

/** A keep-alive comment on the event stream, so proxies and browsers do not time it out. */
const SSE_HEARTBEAT_MS = 15_000;
/** What one slow event-stream reader may leave queued before it is dropped. */
const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

/** One line of the list: enough to find an exchange, without heads or bodies. */
export function exchangeSummary(e: Exchange): Record<string, unknown> {
  return {
    id: e.id,
    proxy: e.proxy,
    visitor: e.visitor,
    startedAt: new Date(e.startedAt).toISOString(),
    durationMs: e.durationMs,
    method: e.request.method,
    target: e.request.target,
    host: getHeader(e.request.headers, 'host') ?? '',
    status: e.response?.status ?? 0,
    requestBytes: e.request.body.size,
    responseBytes: e.response?.body.size ?? 0,
    ...(e.upgraded ? { upgraded: true } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.replayOf !== undefined ? { replayOf: e.replayOf } : {}),
  };
}

/** A body for JSON: always base64; also as text when it is UTF-8 and not content-encoded (gzip and such stay bytes). */
function bodyJson(body: RecordedBody, headers: Exchange['request']['headers']): Record<string, unknown> {
  const out: Record<string, unknown> = { size: body.size, truncated: body.truncated, base64: body.bytes.toString('base64') };
  const encoded = (getHeader(headers, 'content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  if (!encoded && body.bytes.length > 0) {
    try {
      out.text = new TextDecoder('utf-8', { fatal: true }).decode(body.bytes);
    } catch {
      // binary: base64 only
    }
  }
  return out;
}

export function exchangeDetail(e: Exchange): Record<string, unknown> {
  const { request: q, response: r } = e;
  return {
    ...exchangeSummary(e),
    request: { method: q.method, target: q.target, version: q.version, headers: q.headers, body: bodyJson(q.body, q.headers) },
    response: r ? { version: r.version, status: r.status, reason: r.reason, headers: r.headers, body: bodyJson(r.body, r.headers) } : null,
  };
}

function parseId(raw: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : undefined;
}

/** New exchanges as server-sent events (`exchange` with the summary, `cleared`), until the page goes away. */
function liveStream(client: BurrowClient, res: ServerResponse): void {
  const store = client.inspector.store;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  const onAdded = (e: Exchange): void => {
    res.write(`event: exchange\ndata: ${JSON.stringify(exchangeSummary(e))}\n\n`);
    // A page that stopped reading but stays connected is dropped (it reconnects and reloads the list), not buffered for.
    if (res.writableLength > SSE_MAX_BUFFERED_BYTES) res.destroy();
  };
  const onCleared = (): void => void res.write('event: cleared\ndata: {}\n\n');
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  store.on('added', onAdded);
  store.on('cleared', onCleared);
  res.once('close', () => {
    clearInterval(heartbeat);
    store.off('added', onAdded);
    store.off('cleared', onCleared);
  });
}

/** The inspector's API on the client admin server: list, detail, live events, replay, clear. */
export function inspectRoutes(client: BurrowClient): ApiRoute[] {
  const store = client.inspector.store;
  return [
    {
      method: 'GET',
      path: '/api/requests',
      handler: (req) => {
        const proxy = req.query.get('proxy');
        const list = store.all().filter((e) => !proxy || e.proxy === proxy);
        return { json: { requests: list.map(exchangeSummary).reverse() } };
      },
    },
    { method: 'GET', path: '/api/requests/live', handler: () => ({ stream: (res) => liveStream(client, res) }) },
    {
      method: 'GET',
      path: '/api/requests/:id',
      handler: (req) => {
        const id = parseId(req.params.id!);
        const e = id === undefined ? undefined : store.get(id);
        return e ? { json: exchangeDetail(e) } : apiError(404, `no recorded exchange ${req.params.id!}`);
      },
    },
    {
      method: 'POST',
      path: '/api/requests/:id/replay',
      handler: async (req): Promise<ApiResult> => {
        const id = parseId(req.params.id!);
        const original = id === undefined ? undefined : store.get(id);
        if (!original) return apiError(404, `no recorded exchange ${req.params.id!}`);
        const proxy = client.proxyConfig(original.proxy);
        if (!proxy) return apiError(409, `proxy "${original.proxy}" is not configured any more, so there is no local service to replay to`);
        // JSON only: a cross-site form (text/plain, urlencoded) cannot send it without a CORS preflight, which this API never grants.
        if (req.contentType !== 'application/json') return apiError(415, 'replay takes Content-Type: application/json (an empty body replays as recorded)');
        const text = await req.body();
        try {
          let json: unknown;
          try {
            json = text.trim() === '' ? undefined : JSON.parse(text);
          } catch {
            return apiError(400, 'the replay edits are not valid JSON');
          }
          const edits = parseReplayEdits(json);
          const replayed = await client.inspector.replay(original.id, edits, { host: proxy.localIP, port: proxy.localPort });
          return { json: exchangeDetail(replayed) };
        } catch (err) {
          if (isBurrowError(err, 'BURROW_REPLAY_INVALID')) return apiError(400, err.message);
          if (isBurrowError(err, 'BURROW_REPLAY_FAILED')) return apiError(502, err.message);
          return apiError(500, describeError(err));
        }
      },
    },
    {
      method: 'DELETE',
      path: '/api/requests',
      handler: () => {
        store.clear();
        return {};
      },
    },
  ];
}
