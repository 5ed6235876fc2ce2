/**
 * static_file: an HTTP file server over `localPath`. As frp: only requests
 * under `/<stripPrefix>/` (or `/`) are served, with the prefix removed;
 * optional Basic auth (401 `Basic realm="Restricted"`, late); directories get
 * their index.html or a listing; gzip when the visitor accepts it. Unlike frp:
 * HEAD is served too, and `..` paths are refused with 400 instead of cleaned.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ClientPluginSettings } from '../config/types.js';
import { answerAuthFailure, checkBasic, credentialsFrom, type Credentials } from './basic-auth.js';
import { HttpConnectionServer } from './http-server.js';
import { requireLocalPath } from './settings-check.js';
import { relativeRequestPath, resolveUnderRoot } from './static-file-path.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.xml': 'text/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sendText(res: http.ServerResponse, status: number, text: string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...extra });
  res.end(`${text}\n`);
}

export class StaticFilePlugin implements ClientPlugin {
  private readonly server: HttpConnectionServer;
  private readonly root: string;
  private readonly prefix: string;
  private readonly credentials: Credentials | undefined;

  constructor(
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.root = path.resolve(requireLocalPath(settings));
    this.prefix = settings.stripPrefix ? `/${settings.stripPrefix}/` : '/';
    this.credentials = credentialsFrom(settings.httpUser, settings.httpPassword);
    this.server = new HttpConnectionServer({ request: (req, res) => void this.onRequest(req, res) });
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    this.server.handle(conn, info);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // As frp's router: a path outside the prefix or another method never reaches the auth check.
    const rel = relativeRequestPath(req.url ?? '/', this.prefix);
    if (rel.kind === 'not-found') return sendText(res, 404, '404 page not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    const verdict = checkBasic(this.credentials, req.headers.authorization);
    if (verdict !== 'ok') {
      // frp delays every refusal here, a missing header included.
      answerAuthFailure('wrong', () => sendText(res, 401, 'Unauthorized', { 'www-authenticate': 'Basic realm="Restricted"' }));
      return;
    }
    if (rel.kind === 'bad-request') {
      this.context.logger.debug('static_file: request refused', { proxy: this.context.proxyName, reason: rel.why });
      return sendText(res, 400, `400 Bad Request: ${rel.why}`);
    }
    if (rel.kind !== 'relative') return;
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const found = await resolveUnderRoot(this.root, rel.rel, urlPath);
    if (found.kind !== 'file') return sendText(res, 404, '404 page not found');
    try {
      const info = await stat(found.file);
      if (info.isDirectory()) {
        // As Go's FileServer: a directory is addressed with a trailing slash.
        if (!urlPath.endsWith('/')) {
          res.writeHead(301, { location: `${path.posix.basename(urlPath)}/` });
          res.end();
          return;
        }
        const index = path.join(found.file, 'index.html');
        const indexInfo = await stat(index).catch(() => undefined);
        if (indexInfo?.isFile()) return this.sendFile(req, res, index, indexInfo.size, indexInfo.mtime);
        return this.sendListing(req, res, found.file);
      }
      if (!info.isFile()) return sendText(res, 404, '404 page not found');
      this.sendFile(req, res, found.file, info.size, info.mtime);
    } catch {
      if (!res.headersSent) sendText(res, 404, '404 page not found');
      else res.destroy();
    }
  }

  private wantsGzip(req: http.IncomingMessage): boolean {
    return req.method === 'GET' && String(req.headers['accept-encoding'] ?? '').includes('gzip');
  }

  private sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, size: number, mtime: Date): void {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'last-modified': mtime.toUTCString(),
    };
    const since = Date.parse(String(req.headers['if-modified-since'] ?? ''));
    if (!Number.isNaN(since) && Math.floor(mtime.getTime() / 1000) <= Math.floor(since / 1000)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': size });
      res.end();
      return;
    }
    const source = createReadStream(file);
    source.once('error', () => res.destroy());
    if (this.wantsGzip(req)) {
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
      source.pipe(createGzip()).pipe(res);
    } else {
      res.writeHead(200, { ...headers, 'content-length': size });
      source.pipe(res);
    }
  }

  private async sendListing(req: http.IncomingMessage, res: http.ServerResponse, dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let body = '<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n';
    for (const e of entries) {
      const name = e.isDirectory() ? `${e.name}/` : e.name;
      body += `<a href="${escapeHtml(encodeURIComponent(e.name) + (e.isDirectory() ? '/' : ''))}">${escapeHtml(name)}</a>\n`;
    }
    body += '</pre>\n';
    const bytes = Buffer.from(body);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }
}

export function createStaticFilePlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return new StaticFilePlugin(settings, context);
}
