/**
 * The responses burrow writes itself on a vhost port, as complete HTTP/1.1
 * response bytes. Every one closes the connection: after an error the rest
 * of the stream cannot be trusted to be framed, so nothing more is read.
 */
import type { BurrowErrorCode } from '../util/errors.js';

export const SERVER_HEADER = 'burrow';

type Status = 400 | 401 | 404 | 407 | 431 | 504;

const REASONS: Record<Status, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  407: 'Proxy Authentication Required',
  431: 'Request Header Fields Too Large',
  504: 'Gateway Timeout',
};

const EXPLANATIONS: Record<Status, string> = {
  400: 'The request could not be understood.',
  401: 'This address needs a user name and password.',
  404: 'No tunnel serves this address right now.',
  407: 'This proxy needs a user name and password.',
  431: 'The request head is too large.',
  504: 'The service behind this tunnel did not answer in time.',
};

const AUTH_REALM = 'Basic realm="Restricted"';

function htmlPage(status: Status): string {
  const title = `${status} ${REASONS[status]}`;
  return (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n' +
    `<title>${title}</title>\n` +
    '<style>body { max-width: 35em; margin: 2em auto; font-family: system-ui, sans-serif; }</style>\n' +
    `</head>\n<body>\n<h1>${REASONS[status]}</h1>\n<p>${EXPLANATIONS[status]}</p>\n` +
    `<hr>\n<p><small>${SERVER_HEADER}</small></p>\n</body>\n</html>\n`
  );
}

function response(status: Status, body: Buffer, extraHeaders: string[] = []): Buffer {
  const head =
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
    `Server: ${SERVER_HEADER}\r\n` +
    'Content-Type: text/html; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    extraHeaders.map((h) => `${h}\r\n`).join('') +
    'Connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function builtIn(status: Status, extraHeaders?: string[]): Buffer {
  return response(status, Buffer.from(htmlPage(status), 'utf8'), extraHeaders);
}

const BAD_REQUEST = builtIn(400);
const UNAUTHORIZED = builtIn(401, [`WWW-Authenticate: ${AUTH_REALM}`]);
const NOT_FOUND = builtIn(404);
const PROXY_AUTH_REQUIRED = builtIn(407, [`Proxy-Authenticate: ${AUTH_REALM}`]);
const HEAD_TOO_LARGE = builtIn(431);
const GATEWAY_TIMEOUT = builtIn(504);

/** 404 for a host/path no proxy serves; `customPage` (the `custom404Page` file's contents) replaces the body. */
export function notFoundResponse(customPage?: Buffer | string): Buffer {
  if (customPage === undefined) return NOT_FOUND;
  return response(404, typeof customPage === 'string' ? Buffer.from(customPage, 'utf8') : customPage);
}

/** 400 for a malformed request head (BURROW_HTTP_BAD_REQUEST). */
export function badRequestResponse(): Buffer {
  return BAD_REQUEST;
}

/** 431 for a request head over the limit (BURROW_HTTP_HEAD_TOO_LARGE). */
export function headTooLargeResponse(): Buffer {
  return HEAD_TOO_LARGE;
}

/** 401 asking for Basic credentials (a route with http_user set). */
export function unauthorizedResponse(): Buffer {
  return UNAUTHORIZED;
}

/** 407 asking for Basic proxy credentials (proxy-style requests, tcpmux CONNECT). */
export function proxyAuthRequiredResponse(): Buffer {
  return PROXY_AUTH_REQUIRED;
}

/** 504 when the backend did not send a response head in time. */
export function gatewayTimeoutResponse(): Buffer {
  return GATEWAY_TIMEOUT;
}

/** The response for an error code raised while reading a request head. */
export function responseForRequestError(code: BurrowErrorCode): Buffer {
  return code === 'BURROW_HTTP_HEAD_TOO_LARGE' ? HEAD_TOO_LARGE : BAD_REQUEST;
}

/** 200 with an ACME HTTP-01 key authorization: the body is exactly the key authorization (RFC 8555 §8.3). */
export function acmeChallengeResponse(keyAuthorization: string): Buffer {
  const body = Buffer.from(keyAuthorization, 'latin1');
  const head = `HTTP/1.1 200 OK\r\nServer: ${SERVER_HEADER}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** 308 to the same request on https (a name with a certificate); 308 keeps the method and body, unlike 301. */
export function httpsRedirectResponse(location: string): Buffer {
  const body = Buffer.from(`Moved to ${location}\n`, 'latin1');
  const head =
    `HTTP/1.1 308 Permanent Redirect\r\nServer: ${SERVER_HEADER}\r\nLocation: ${location}\r\n` +
    `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
