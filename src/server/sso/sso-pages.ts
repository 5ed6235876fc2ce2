import { SERVER_HEADER } from '../../vhost/pages.js';

/**
 * The answers the SSO gate writes itself. Like the vhost's other pages each
 * closes the connection; none may be cached, since each depends on cookies.
 */

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  302: 'Found',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  502: 'Bad Gateway',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function answer(status: number, body: Buffer, contentType: string, headers: readonly string[]): Buffer {
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n` +
    `Server: ${SERVER_HEADER}\r\n` +
    'Cache-Control: no-store\r\n' +
    `Content-Type: ${contentType}\r\n` +
    `Content-Length: ${body.length}\r\n` +
    headers.map((h) => `${h}\r\n`).join('') +
    'Connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** A small HTML page: a title, one sentence, and optionally a link to go on with. */
export function ssoPage(
  status: number,
  title: string,
  text: string,
  opts: { link?: { href: string; label: string }; headers?: readonly string[] } = {},
): Buffer {
  const link = opts.link ? `<p><a href="${escapeHtml(opts.link.href)}">${escapeHtml(opts.link.label)}</a></p>\n` : '';
  const html =
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n' +
    `<title>${escapeHtml(title)}</title>\n` +
    '<style>body { max-width: 35em; margin: 2em auto; font-family: system-ui, sans-serif; }</style>\n' +
    `</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>\n${link}` +
    `<hr>\n<p><small>${SERVER_HEADER}</small></p>\n</body>\n</html>\n`;
  return answer(status, Buffer.from(html, 'utf8'), 'text/html; charset=utf-8', opts.headers ?? []);
}

/** 302 to `location` (the issuer, or back to the page the login started from), setting or clearing cookies. */
export function ssoRedirect(location: string, cookies: readonly string[]): Buffer {
  return answer(302, Buffer.from('Redirecting\n', 'latin1'), 'text/plain', [`Location: ${location}`, ...cookies.map((c) => `Set-Cookie: ${c}`)]);
}
