import type { WebServerSettings } from '../config/types.js';
import { adminRequest, ADMIN_API_TIMEOUT_MS } from './admin-requests.js';
import { FrpCommandError } from './frp-command.js';
import { formatStatus, type StatusEntry } from './status-table.js';

/**
 * `frpc reload|status|stop` and `burrow client reload|status|stop`: one
 * request to the running client's admin API each. `frp` wording prints what
 * frpc prints ("reload success", "api status code [400]"); `burrow` prints
 * what the answer says (the reload's changes, the refusal's reason).
 */

type Web = Pick<WebServerSettings, 'addr' | 'port' | 'user' | 'password' | 'tls'>;
export type AdminWording = 'frp' | 'burrow';

function refused(action: string, status: number, text: string, wording: AdminWording): FrpCommandError {
  return new FrpCommandError(wording === 'frp' ? `api status code [${status}]` : `${action} refused (${status}): ${text}`);
}

export async function reloadClient(web: Web, timeoutMs = ADMIN_API_TIMEOUT_MS, wording: AdminWording = 'frp'): Promise<void> {
  const res = await adminRequest(web, 'GET', '/api/reload?strictConfig=true', timeoutMs);
  if (res.status !== 200) throw refused('reload', res.status, res.text, wording);
  console.log(wording === 'frp' ? 'reload success' : `reloaded: ${res.text}`);
}

export async function showClientStatus(web: Web, timeoutMs = ADMIN_API_TIMEOUT_MS, wording: AdminWording = 'frp'): Promise<void> {
  const res = await adminRequest(web, 'GET', '/api/status', timeoutMs);
  if (res.status !== 200) throw refused('status', res.status, res.text, wording);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new FrpCommandError(`unmarshal http response error: ${res.text.trim()}`);
  }
  process.stdout.write(formatStatus(body as Record<string, StatusEntry[]>));
  if (wording === 'burrow') await showSessions(web, timeoutMs);
}

/** `burrow client status` on a client with serverAddrs: one line per session after the proxies (frpc's output stays frpc's). */
async function showSessions(web: Web, timeoutMs: number): Promise<void> {
  const res = await adminRequest(web, 'GET', '/api/client', timeoutMs);
  let sessions: Array<{ server?: string; state?: string; lastError?: string }> = [];
  try {
    sessions = res.status === 200 ? ((JSON.parse(res.text) as { sessions?: typeof sessions }).sessions ?? []) : [];
  } catch {
    return;
  }
  if (sessions.length < 2) return;
  for (const s of sessions) console.log(`session ${s.server ?? '?'}: ${s.state ?? '?'}${s.lastError ? ` (${s.lastError})` : ''}`);
}

export async function stopClient(web: Web, timeoutMs = ADMIN_API_TIMEOUT_MS, wording: AdminWording = 'frp'): Promise<void> {
  const res = await adminRequest(web, 'POST', '/api/stop', timeoutMs);
  if (res.status !== 200) throw refused('stop', res.status, res.text, wording);
  console.log('stop success');
}
