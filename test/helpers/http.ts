import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: Buffer;
  headers: IncomingHttpHeaders;
  reused: boolean;
}

/** One request to 127.0.0.1:`port` with the given Host header (a vhost routes by it). */
export function vhostRequest(
  port: number,
  host: string,
  path: string,
  opts: { agent?: Agent; headers?: Record<string, string>; method?: string; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: opts.agent ?? false, headers: { host, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
