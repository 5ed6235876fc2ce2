/**
 * burrow's own accounts on the server dashboard: `GET /api/users` (each
 * account with its clients, proxies and usage against each limit),
 * `POST /api/users/reload` (as SIGHUP) and, with `usersFile`, the editor:
 * `POST /api/users` (create; the generated token is in this answer only),
 * `PUT /api/users/{name}` (limits, `disabled`), `DELETE /api/users/{name}`,
 * `POST /api/users/{name}/token` (rotate). Writes need the dashboard's login
 * (403 without webServer.user/password, as the reload) and pass the
 * cross-site guard like every request with side effects; bodies are JSON.
 */
import type { AccountReport, Accounts } from '../server/accounts/accounts.js';
import type { UserChange, UsersEditor } from '../server/accounts/users-editor.js';
import type { ControlSession } from '../server/control-session.js';
import { ConfigError } from '../config/load.js';
import { describeError, isBurrowError } from '../util/errors.js';
import { apiError, type ApiRequest, type ApiResult, type ApiRoute } from './api-server.js';
import { FORM_CONTENT_TYPES } from './request-guard.js';

/** One account's JSON is small; a larger body is refused (413). */
const MAX_USER_BODY_BYTES = 64 * 1024;

/** What a users reload did: the accounts now listed, and the users whose clients were closed. */
export interface UsersReload {
  users: number;
  closed: string[];
}

/** What these routes read from the server. */
export interface UsersSource {
  readonly clients: readonly ControlSession[];
  readonly accounts?: Pick<Accounts, 'report'>;
  /** user connections and datagrams dropped by allowIPs/denyIPs */
  readonly proxies?: { readonly refusedByIpRules: number };
}

export interface UsersApiOptions {
  /** re-reads the accounts (what SIGHUP does) */
  reload?: () => UsersReload;
  /** with `usersFile`: the accounts the dashboard may write */
  editor?: UsersEditor;
  /** the dashboard has a login (webServer.user/password): only then may it change accounts */
  authenticated: boolean;
}

/** An account as the dashboard shows it: usage against each limit, its live clients and proxies, and where it is defined. */
export interface UserView extends AccountReport {
  /** `file`: in the users file (editable); `config`: in the server config (read-only here) */
  source: 'file' | 'config';
  online: boolean;
  clients: number;
  proxyNames: string[];
}

/** Each account's usage against its limits; its proxies counted over its live clients. */
export function accountReports(server: UsersSource): AccountReport[] {
  const proxiesOf = (user: string): number => server.clients.reduce((n, c) => n + (c.user === user ? c.proxies.size : 0), 0);
  return server.accounts?.report(proxiesOf) ?? [];
}

function userViews(server: UsersSource, editor: UsersEditor | undefined): UserView[] {
  const inFile = editor?.fileNames() ?? new Set<string>();
  return accountReports(server).map((r) => {
    const mine = server.clients.filter((c) => c.user === r.name);
    return {
      ...r,
      source: inFile.has(r.name) ? 'file' : 'config',
      online: mine.length > 0,
      clients: mine.length,
      proxyNames: mine.flatMap((c) => [...c.proxies.keys()]).sort(),
    };
  });
}

function errorResult(err: unknown): ApiResult {
  if (err instanceof ConfigError) return apiError(400, err.problems.join('; '));
  if (isBurrowError(err, 'BURROW_CONFIG_INVALID')) return apiError(400, err.message);
  if (isBurrowError(err, 'BURROW_STORE_NOT_FOUND')) return apiError(404, err.message);
  if (isBurrowError(err, 'BURROW_STORE_CONFLICT')) return apiError(409, err.message);
  throw err;
}

export function usersRoutes(server: UsersSource, opts: UsersApiOptions): ApiRoute[] {
  const { editor } = opts;
  /** Checks what every write needs, then runs it with the parsed body. */
  const write =
    (run: (editor: UsersEditor, req: ApiRequest, body: unknown) => UserChange, status = 200) =>
    async (req: ApiRequest): Promise<ApiResult> => {
      if (!editor)
        return apiError(
          404,
          'users are not editable here: set usersFile in the server config (e.g. usersFile = "users.toml") to manage accounts from the dashboard',
        );
      if (!opts.authenticated) return apiError(403, 'set webServer.user and webServer.password to change users from the dashboard');
      if (FORM_CONTENT_TYPES.has(req.contentType)) return apiError(415, `send the account as Content-Type application/json, not ${req.contentType}`);
      let body: unknown;
      const text = await req.body();
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch (err) {
        return apiError(400, `the body is not JSON: ${describeError(err)}`);
      }
      try {
        return { status, json: run(editor, req, body) };
      } catch (err) {
        return errorResult(err);
      }
    };
  return [
    {
      method: 'GET',
      path: '/api/users',
      handler: () => ({
        json: {
          users: userViews(server, editor),
          refusedByIpRules: server.proxies?.refusedByIpRules ?? 0,
          // What the page needs to offer its forms: a users file, and a login to change it.
          editable: editor !== undefined && opts.authenticated,
        },
      }),
    },
    { method: 'POST', path: '/api/users/reload', handler: () => usersReload(opts) },
    { method: 'POST', path: '/api/users', maxBodyBytes: MAX_USER_BODY_BYTES, handler: write((e, _req, body) => e.create(body), 201) },
    { method: 'PUT', path: '/api/users/:name', maxBodyBytes: MAX_USER_BODY_BYTES, handler: write((e, req, body) => e.update(req.params.name!, body)) },
    { method: 'DELETE', path: '/api/users/:name', maxBodyBytes: MAX_USER_BODY_BYTES, handler: write((e, req) => e.remove(req.params.name!)) },
    { method: 'POST', path: '/api/users/:name/token', maxBodyBytes: MAX_USER_BODY_BYTES, handler: write((e, req) => e.rotate(req.params.name!)) },
  ];
}

/** POST /api/users/reload: as SIGHUP; only behind the dashboard's login, since it logs users out. */
function usersReload(opts: UsersApiOptions): ApiResult {
  if (!opts.reload) return apiError(404, 'this server was not started from a config file: there is nothing to reload users from');
  if (!opts.authenticated) return apiError(403, 'set webServer.user and webServer.password to reload users from the dashboard');
  try {
    return { json: opts.reload() };
  } catch (err) {
    return apiError(400, `users reload refused, the running accounts are unchanged: ${describeError(err)}`);
  }
}
