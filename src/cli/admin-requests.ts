import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
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

type AdminTarget = Pick<WebServerSettings, 'addr' | 'port' | 'user' | 'password' | 'tls'>;

/** frp's default for `--api-timeout`. */
export const ADMIN_API_TIMEOUT_MS = 30_000;

/** The URL of `path` on the admin API; a wildcard listen address is reached on loopback. */
export function adminUrl(web: Pick<WebServerSettings, 'addr' | 'port' | 'tls'>, path: string): string {
  const host = web.addr === '0.0.0.0' || web.addr === '' ? '127.0.0.1' : web.addr === '::' ? '::1' : web.addr;
  return `${web.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${web.port}${path}`;
}

/** One request; a connection failure rejects with frp's wording (`Get "URL": reason`). */
export async function adminRequest(web: AdminTarget, method: 'GET' | 'POST', path: string, timeoutMs = ADMIN_API_TIMEOUT_MS): Promise<AdminAnswer> {
  const url = adminUrl(web, path);
  const headers: Record<string, string> = {};
  if (web.user !== '' || web.password !== '') headers.authorization = `Basic ${Buffer.from(`${web.user}:${web.password}`).toString('base64')}`;
  try {
    if (web.tls) return await pinnedHttpsRequest(url, method, headers, web.tls.certFile, timeoutMs);
    const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    const verb = method === 'GET' ? 'Get' : 'Post';
    throw new Error(`${verb} "${url}": ${cause}`);
  }
}

/**
 * HTTPS to an admin API served with webServer.tls. frpc itself always speaks
 * plain HTTP here (so its status/reload/stop fail against a TLS admin); we
 * speak HTTPS and trust exactly the certificate in webServer.tls.certFile of
 * the same file, not a CA: it is often self-signed, and the address is
 * usually loopback, which no certificate names.
 */
async function pinnedHttpsRequest(url: string, method: string, headers: Record<string, string>, certFile: string, timeoutMs: number): Promise<AdminAnswer> {
  const expected = new X509Certificate(readFileSync(certFile)).raw;
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const deadline = AbortSignal.timeout(timeoutMs);
  // The handshake is finished and the certificate checked before a byte of the request (its credentials) is written.
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({ host, port: Number(target.port), rejectUnauthorized: false, signal: deadline } as ConnectionOptions, () => {
      const peer = s.getPeerCertificate().raw;
      if (peer?.equals(expected)) return resolve(s);
      s.destroy();
      reject(new Error(`the server's certificate is not the one in webServer.tls.certFile (${certFile})`));
    });
    s.once('error', reject);
  });
  return new Promise<AdminAnswer>((resolve, reject) => {
    const req = httpRequest(
      { host, port: target.port, path: target.pathname + target.search, method, headers, createConnection: () => socket, signal: deadline },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
