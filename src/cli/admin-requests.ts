import type { WebServerSettings } from '../config/types.js';

/**
 * What `frpc reload|status|stop` and `burrow client reload|status|stop` send
 * to a running client's admin API (webServer.addr:port in its file), as frp's
 * client SDK does: GET /api/reload, GET /api/status, POST /api/stop.
 */

export interface AdminAnswer {
  status: number;
  text: string;
}

/** frp's default for `--api-timeout`. */
export const ADMIN_API_TIMEOUT_MS = 30_000;

/** The URL of `path` on the admin API; a wildcard listen address is reached on loopback. */
export function adminUrl(web: Pick<WebServerSettings, 'addr' | 'port'>, path: string): string {
  const host = web.addr === '0.0.0.0' || web.addr === '' ? '127.0.0.1' : web.addr === '::' ? '::1' : web.addr;
  return `http://${host.includes(':') ? `[${host}]` : host}:${web.port}${path}`;
}

/** One request; a connection failure rejects with frp's wording (`Get "URL": reason`). */
export async function adminRequest(
  web: Pick<WebServerSettings, 'addr' | 'port' | 'user' | 'password'>,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = ADMIN_API_TIMEOUT_MS,
): Promise<AdminAnswer> {
  const url = adminUrl(web, path);
  const headers: Record<string, string> = {};
  if (web.user !== '' || web.password !== '') headers.authorization = `Basic ${Buffer.from(`${web.user}:${web.password}`).toString('base64')}`;
  try {
    const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    const verb = method === 'GET' ? 'Get' : 'Post';
    throw new Error(`${verb} "${url}": ${cause}`);
  }
}
