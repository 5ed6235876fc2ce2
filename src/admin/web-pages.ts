import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ApiRoute } from './api-server.js';

/**
 * The dashboard and admin web pages: plain HTML, CSS and JS in the package's
 * `web/` folder, read once and served as they are (nothing to build at
 * install). The page itself is `/`; its assets live under `/static/`.
 */

/** `web/` sits beside `src/` and `dist/`; this file is two levels below either. */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * Scripts only from this origin, no inline code, no framing: the pages show
 * request bodies captured from the internet, which must never run as code.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

export type WebPage = 'server' | 'client';

/** Each page's own files beside the shared ones. */
const PAGE_ASSETS: Record<WebPage, string[]> = {
  server: ['server.js', 'users.js', 'users.css'],
  client: ['client.js', 'inspect.js', 'inspect.css', 'store.js'],
};

function load(name: string): { body: Buffer; type: string } {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  const type = CONTENT_TYPES[ext];
  if (!type) throw new Error(`web asset ${name} has no known content type`);
  return { body: readFileSync(WEB_DIR + name), type };
}

/** Routes for one page and the assets it uses; read from disk once, here. */
export function webPageRoutes(page: WebPage): ApiRoute[] {
  const assets = ['common.css', 'common.js', 'favicon.svg', ...PAGE_ASSETS[page]];
  const html = load(`${page}.html`);
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/', handler: () => ({ raw: { ...html, headers: PAGE_HEADERS } }) },
    // frp's dashboard lives at /static/: old bookmarks land on the page.
    { method: 'GET', path: '/static', handler: () => ({ status: 302, raw: { body: Buffer.alloc(0), type: 'text/plain', headers: { location: '/' } } }) },
  ];
  for (const name of assets) {
    const asset = load(name);
    routes.push({ method: 'GET', path: `/static/${name}`, handler: () => ({ raw: { ...asset, headers: PAGE_HEADERS } }) });
  }
  return routes;
}
