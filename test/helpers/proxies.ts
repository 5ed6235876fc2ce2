/**
 * Small real intermediaries for transport tests, each on 127.0.0.1 with an
 * OS-picked port: an HTTP CONNECT proxy, a SOCKS5 proxy, an HTTP reverse
 * proxy that forwards upgrades, and a one-record DNS server.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface RunningProxy {
  port: number;
  /** What the proxy was asked for, in order: CONNECT targets, SOCKS targets, forwarded paths, DNS names. */
  readonly seen: string[];
  close(): Promise<void>;
}

function tracked(server: net.Server): { sockets: Set<net.Socket>; close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  return {
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listenLocal(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function splice(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  b.on('error', () => a.destroy());
}

/** An HTTP CONNECT proxy. `refuse` answers every CONNECT with that status; `auth` requires Basic credentials. */
export async function startConnectProxy(opts: { auth?: string; refuse?: string } = {}): Promise<RunningProxy> {
  const seen: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`${req.url ?? ''} ${req.headers['proxy-authorization'] ?? '-'}`);
    client.on('error', () => {});
    if (opts.refuse) {
      client.end(`HTTP/1.1 ${opts.refuse}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (opts.auth && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(opts.auth).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = net.connect({ port, host, allowHalfOpen: true }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      splice(client, upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  const t = tracked(server);
  return { port: await listenLocal(server), seen, close: t.close };
}

/** A SOCKS5 proxy (CONNECT only). With `auth` ("user:pass") it insists on RFC 1929 user/password. */
export async function startSocks5Proxy(opts: { auth?: string } = {}): Promise<RunningProxy> {
  const seen: string[] = [];
  // Half-open allowed: a tunnel relays a half-close, so the proxy must too.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' = 'greeting';
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting') {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        const want = opts.auth ? 0x02 : 0x00;
        if (!methods.includes(want)) {
          client.end(Buffer.from([5, 0xff]));
          return;
        }
        client.write(Buffer.from([5, want]));
        stage = opts.auth ? 'auth' : 'request';
      }
      if (stage === 'auth') {
        if (buf.length < 2) return;
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen || buf.length < 3 + ulen + buf[2 + ulen]!) return;
        const plen = buf[2 + ulen]!;
        const given = `${buf.subarray(2, 2 + ulen).toString()}:${buf.subarray(3 + ulen, 3 + ulen + plen).toString()}`;
        buf = buf.subarray(3 + ulen + plen);
        if (given !== opts.auth) {
          client.end(Buffer.from([1, 1]));
          return;
        }
        client.write(Buffer.from([1, 0]));
        stage = 'request';
      }
      if (stage === 'request') {
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + addrLen + 2) return;
        const addr = buf.subarray(4, 4 + addrLen);
        const host = atyp === 1 ? [...addr].join('.') : atyp === 3 ? addr.subarray(1).toString() : addr.toString('hex').match(/.{4}/g)!.join(':');
        const port = buf.readUInt16BE(4 + addrLen);
        const rest = buf.subarray(4 + addrLen + 2);
        client.off('data', onData);
        seen.push(`${host}:${port}`);
        const upstream = net.connect({ port, host, allowHalfOpen: true }, () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length > 0) upstream.write(rest);
          splice(client, upstream);
        });
        upstream.on('error', () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      }
    };
    client.on('data', onData);
  });
  const t = tracked(server);
  return { port: await listenLocal(server), seen, close: t.close };
}

/**
 * A plain HTTP reverse proxy in front of `targetPort`, as nginx would sit in
 * front of a server: requests and upgrades under `pathPrefix` are forwarded,
 * anything else gets 404.
 */
export async function startReverseProxy(targetPort: number, pathPrefix = '/'): Promise<RunningProxy> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no route\n');
  });
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`UPGRADE ${req.url ?? ''} host=${req.headers.host ?? ''} origin=${req.headers.origin ?? ''}`);
    client.on('error', () => {});
    if (!(req.url ?? '').startsWith(pathPrefix)) {
      client.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true }, () => {
      // Re-send the request head as received (a real proxy would add X-Forwarded-For).
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push('X-Forwarded-For: 127.0.0.1');
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      splice(client, upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  const t = tracked(server);
  return { port: await listenLocal(server), seen, close: t.close };
}

/** A DNS server on UDP that answers A queries for the names in `records` and NXDOMAIN otherwise. */
export async function startDnsServer(records: Record<string, string>): Promise<RunningProxy> {
  const seen: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    // Header (12 bytes), then one question: labels, type, class.
    let at = 12;
    const labels: string[] = [];
    while (msg[at]! > 0) {
      labels.push(msg.subarray(at + 1, at + 1 + msg[at]!).toString());
      at += 1 + msg[at]!;
    }
    const question = msg.subarray(12, at + 5);
    const name = labels.join('.');
    const type = msg.readUInt16BE(at + 1);
    seen.push(`${name} ${type === 1 ? 'A' : type === 28 ? 'AAAA' : type}`);
    const ip = records[name];
    const answer = ip && type === 1 ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip.split('.').map(Number)]) : Buffer.alloc(0);
    const rcode = ip ? 0 : 3;
    const header = Buffer.from([msg[0]!, msg[1]!, 0x81, 0x80 | rcode, 0, 1, 0, answer.length > 0 ? 1 : 0, 0, 0, 0, 0]);
    socket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    seen,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
