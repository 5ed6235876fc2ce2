import { request, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface BrowserAnswer {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface StoredCookie {
  value: string;
  path: string;
  /** sent over https only */
  secure?: boolean;
}

/**
 * Just enough of a browser for login flows over plain HTTP: a cookie jar
 * (host-only cookies, Path matching, Max-Age=0 removing) and redirects
 * followed by hand. Every host is reached on 127.0.0.1 at the URL's port,
 * with the URL's host in the Host header, so vhost names need no DNS.
 */
export class CookieBrowser {
  /** host (without port, as cookies are) → name → cookie */
  readonly jar = new Map<string, Map<string, StoredCookie>>();

  /** `ca`: the PEM roots trusted for https:// URLs (checked against the URL's host name) */
  constructor(private readonly ca?: string) {}

  /** One request, no redirect followed. */
  request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<BrowserAnswer> {
    const u = new URL(url);
    const cookie = this.cookieHeader(u);
    const secure = u.protocol === 'https:';
    const send = secure ? httpsRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          ...(secure ? { servername: u.hostname, ca: this.ca } : {}),
          host: '127.0.0.1',
          port: Number(u.port || (secure ? 443 : 80)),
          path: `${u.pathname}${u.search}`,
          method: opts.method ?? 'GET',
          agent: false,
          headers: { host: u.host, ...(cookie ? { cookie } : {}), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            this.store(u, res.headers['set-cookie'] ?? []);
            resolve({ url, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** GET `url` and follow redirects (at most `maxHops`); every answer on the way, the last one last. */
  async follow(url: string, maxHops = 10): Promise<BrowserAnswer[]> {
    const seen: BrowserAnswer[] = [];
    let next = url;
    for (let hop = 0; hop <= maxHops; hop += 1) {
      const answer = await this.request(next);
      seen.push(answer);
      const location = answer.headers.location;
      if (answer.status < 300 || answer.status >= 400 || !location) return seen;
      next = new URL(location, next).href;
    }
    throw new Error(`more than ${maxHops} redirects from ${url}`);
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  setCookie(host: string, name: string, value: string, path = '/', secure = false): void {
    let cookies = this.jar.get(host);
    if (!cookies) this.jar.set(host, (cookies = new Map()));
    cookies.set(name, { value, path, secure });
  }

  private cookieHeader(u: URL): string {
    const cookies = this.jar.get(u.hostname);
    if (!cookies) return '';
    return [...cookies]
      .filter(
        ([, c]) => (u.protocol === 'https:' || !c.secure) && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
      )
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(u: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string): string | undefined => attrs.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attr('path') ?? '/';
      const removed = attr('max-age') === '0' || /expires=thu, 01 jan 1970/i.test(line);
      if (removed) this.jar.get(u.hostname)?.delete(name);
      else
        this.setCookie(
          u.hostname,
          name,
          value,
          path,
          attrs.some((a) => a.toLowerCase() === 'secure'),
        );
    }
  }
}
