/**
 * frpc's store API: `/api/store/proxies[/{name}]` and
 * `/api/store/visitors[/{name}]` — list (GET), create (POST), get (GET),
 * update (PUT), delete (DELETE). The shapes are frp's: an entry travels as
 * `{"name": …, "type": …, "<type>": {…}}`, the block holding the proxy's
 * keys as a config file writes them. Errors are frp's `{"Code", "Msg"}` with
 * frp's status codes and texts: 400 bad input, 404 unknown name or no store,
 * 409 a name in use.
 *
 * Unlike frp, a key the config file would refuse is refused here too (frp
 * drops unknown keys silently), and a name the config file already uses is
 * refused (409) rather than silently replacing the file's proxy.
 */
import type { BurrowClient } from '../client/client.js';
import type { StoredEntry, StoreKind } from '../client/proxy-store.js';
import { isPlainObject } from '../config/schema-engine.js';
import { PROXY_TYPES, VISITOR_TYPES } from '../config/proxy-schema.js';
import { describeError, isBurrowError } from '../util/errors.js';
import { apiError, type ApiRequest, type ApiResult, type ApiRoute } from './api-server.js';
import { isSecretKey, REDACTED } from './config-redact.js';
import { FORM_CONTENT_TYPES } from './request-guard.js';

/** One entry's JSON; the whole store file is bounded separately. */
export const MAX_STORE_BODY_BYTES = 64 * 1024;

interface KindInfo {
  kind: StoreKind;
  /** the path segment and the list's key in the answer */
  plural: 'proxies' | 'visitors';
  types: readonly string[];
}

const KINDS: readonly KindInfo[] = [
  { kind: 'proxy', plural: 'proxies', types: PROXY_TYPES },
  { kind: 'visitor', plural: 'visitors', types: VISITOR_TYPES },
];

class BadRequest extends Error {}

/** frp's definition → the flat entry the store keeps (`name` and `type` from the outside win, as in frp). */
function entryFrom(body: string, info: KindInfo, pathName: string | undefined): StoredEntry {
  const { kind, types } = info;
  let def: unknown;
  try {
    def = JSON.parse(body);
  } catch (err) {
    throw new BadRequest(`parse JSON error: ${describeError(err)}`);
  }
  if (!isPlainObject(def)) throw new BadRequest(`parse JSON error: the body must be a JSON object {"name": …, "type": …, "<type>": {…}}`);
  const name = typeof def.name === 'string' ? def.name : '';
  const type = typeof def.type === 'string' ? def.type : '';
  if (name.trim() === '') throw new BadRequest(`${kind} name is required`);
  if (!types.includes(type)) throw new BadRequest(`invalid ${kind} type: ${type}`);
  if (pathName !== undefined && pathName !== name) throw new BadRequest(`${kind} name in URL must match name in body`);
  const blocks = Object.keys(def).filter((k) => types.includes(k));
  const unknown = Object.keys(def).find((k) => k !== 'name' && k !== 'type' && !types.includes(k));
  if (unknown !== undefined) throw new BadRequest(`${unknown}: unknown key (a ${kind} is {"name", "type", "<type>": {…}})`);
  if (blocks.length !== 1 || !isPlainObject(def[blocks[0]!])) throw new BadRequest(`exactly one ${kind} type block is required`);
  if (blocks[0] !== type) throw new BadRequest(`${kind} type block "${blocks[0]}" does not match type "${type}"`);
  return { ...(def[type] as Record<string, unknown>), name, type };
}

/** The flat entry → frp's definition. */
function definition(entry: StoredEntry): Record<string, unknown> {
  return { name: entry.name, type: entry.type, [String(entry.type)]: entry };
}

function redact(value: unknown, depth = 0): unknown {
  if (depth > 32 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretKey(k) && typeof v === 'string' && v !== '' ? REDACTED : redact(v, depth + 1)]));
}

function errorResult(err: unknown): ApiResult {
  if (err instanceof BadRequest) return apiError(400, err.message);
  if (isBurrowError(err, 'BURROW_STORE_NOT_FOUND')) return apiError(404, err.message);
  if (isBurrowError(err, 'BURROW_STORE_CONFLICT')) return apiError(409, `conflict: ${err.message}`);
  if (isBurrowError(err, 'BURROW_CONFIG_INVALID')) return apiError(400, `validation error: ${err.message}`);
  throw err;
}

export interface StoreApiOptions {
  client: BurrowClient;
  /** without admin credentials secrets are hidden on the way out, as GET /api/config does */
  guarded: boolean;
}

export function storeRoutes({ client, guarded }: StoreApiOptions): ApiRoute[] {
  const disabled = (): ApiResult => apiError(404, 'store disabled: store API is disabled; set store.path in the client config');
  const out = (entry: StoredEntry): unknown => (guarded ? definition(entry) : redact(definition(entry)));
  /** Reads and checks a body, then hands the entry to `change`. */
  const write =
    (info: KindInfo, update: boolean) =>
    async (req: ApiRequest): Promise<ApiResult> => {
      const store = client.store;
      if (!store) return disabled();
      if (FORM_CONTENT_TYPES.has(req.contentType)) return apiError(415, `the ${info.kind} is sent as Content-Type application/json, not ${req.contentType}`);
      try {
        const body = await req.body();
        if (body.includes(`"${REDACTED}"`))
          throw new BadRequest(
            `the ${info.kind} still contains "${REDACTED}" values from a read without credentials; write the real values (or set webServer.user and webServer.password)`,
          );
        const entry = entryFrom(body, info, update ? req.params.name : undefined);
        const saved = update ? store.update(info.kind, req.params.name!, entry, String(entry.type)) : store.create(info.kind, entry, String(entry.type));
        return { json: out(saved) };
      } catch (err) {
        return errorResult(err);
      }
    };
  const routes: ApiRoute[] = [];
  for (const info of KINDS) {
    const base = `/api/store/${info.plural}`;
    routes.push(
      { method: 'GET', path: base, handler: () => (client.store ? { json: { [info.plural]: client.store.list(info.kind).map(out) } } : disabled()) },
      { method: 'POST', path: base, maxBodyBytes: MAX_STORE_BODY_BYTES, handler: write(info, false) },
      {
        method: 'GET',
        path: `${base}/:name`,
        handler: (req) => {
          if (!client.store) return disabled();
          const entry = client.store.get(info.kind, req.params.name!);
          return entry ? { json: out(entry) } : apiError(404, `not found: ${info.kind} "${req.params.name}"`);
        },
      },
      { method: 'PUT', path: `${base}/:name`, maxBodyBytes: MAX_STORE_BODY_BYTES, handler: write(info, true) },
      {
        method: 'DELETE',
        path: `${base}/:name`,
        handler: (req) => {
          if (!client.store) return disabled();
          try {
            client.store.remove(info.kind, req.params.name!);
            return {};
          } catch (err) {
            return errorResult(err);
          }
        },
      },
    );
  }
  return routes;
}
