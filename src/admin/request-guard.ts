import type { IncomingMessage } from 'node:http';

/**
 * Checks that keep a web page the user happens to have open from driving the
 * admin API through the user's browser. Tools (curl, frpc's `reload`,
 * `burrow client reload`) send none of the browser's provenance headers and
 * pass; our own pages send same-origin ones and pass; anything a browser marks
 * as coming from another site is refused.
 */

/** Host header names that can only mean this machine. */
export function loopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true; // HTTP/1.0 tools; browsers always send Host
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower.endsWith('.localhost') || lower === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower);
}

/** `scheme://host[:port]` of a URL, lower case; undefined when it is not one. */
function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? undefined : u.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The origins this server itself has, as the browser names them: the Host it was reached by. */
function ownOrigins(req: IncomingMessage): string[] {
  const host = (req.headers.host ?? '').toLowerCase();
  return host === '' ? [] : [`http://${host}`, `https://${host}`];
}

/**
 * Why a request with side effects must be refused as cross-site, or undefined
 * when it may go on. In order of trust: Sec-Fetch-Site (every current
 * browser), then Origin (older browsers on POST/PUT/DELETE), then Referer
 * (older browsers loading an image or following a link).
 */
export function crossSiteReason(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== '') {
    // 'none': typed into the address bar or opened from a bookmark, which only the user does.
    if (site === 'same-origin' || site === 'none') return undefined;
    return `Sec-Fetch-Site is "${site}"`;
  }
  const own = ownOrigins(req);
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== '') {
    const o = originOf(origin);
    return o !== undefined && own.includes(o) ? undefined : `Origin is "${origin}"`;
  }
  const referer = req.headers.referer;
  if (typeof referer === 'string' && referer !== '') {
    const o = originOf(referer);
    return o !== undefined && own.includes(o) ? undefined : `Referer is from another site`;
  }
  return undefined;
}

/**
 * Body types a cross-site HTML form (or a no-cors fetch) can send without a
 * CORS preflight: the three "simple" ones, `text/plain` included (a form with
 * `enctype="text/plain"` can carry a JSON-looking body). A route that reads
 * a JSON body refuses them, so even a browser that sends no provenance
 * headers cannot post into it.
 */
export const FORM_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
