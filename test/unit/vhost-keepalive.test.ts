import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { BodyFramer, requestBodyKind, responseBodyKind } from '../../src/vhost/body-framer.js';
import { getHeader, RequestHeadParser, requestPath, type RequestHead } from '../../src/vhost/request-head.js';
import { ResponseHeadParser } from '../../src/vhost/response-head.js';

interface Seen {
  method: string;
  path: string;
  body: string;
  trailer: boolean;
}

/**
 * A raw TCP server that reads requests the way the vhost port will: head
 * parser, body framer, next head; it answers each with a small fixed response.
 */
function startRawServer(seen: Seen[], sockets: Set<net.Socket>): net.Server {
  return net.createServer((socket) => {
    sockets.add(socket);
    let parser = new RequestHeadParser();
    let current: { head: RequestHead; framer: BodyFramer; body: Buffer[] } | undefined;
    const handle = (chunk: Buffer): void => {
      while (chunk.length > 0) {
        if (current === undefined) {
          const head = parser.push(chunk);
          if (head === undefined) return;
          current = { head, framer: new BodyFramer(requestBodyKind(head)), body: [] };
          chunk = parser.takeRemainder();
        } else {
          const n = current.framer.consume(chunk);
          current.body.push(chunk.subarray(0, n));
          chunk = chunk.subarray(n);
        }
        if (current.framer.done) {
          const body = Buffer.concat(current.body).toString('latin1');
          seen.push({ method: current.head.method, path: requestPath(current.head), body, trailer: body.includes('X-Sum: 7') });
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          current = undefined;
          parser = new RequestHeadParser();
        }
      }
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        handle(chunk);
      } catch {
        socket.destroy();
      }
    });
  });
}

function send(agent: http.Agent, port: number, method: string, path: string, write: (req: http.ClientRequest) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(`${res.statusCode ?? 0} ${text}`));
    });
    req.on('error', reject);
    write(req);
  });
}

test('requests from a real HTTP client on one keep-alive connection are found one after another', async () => {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = startRawServer(seen, sockets);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const chunked = await send(agent, port, 'POST', '/chunked', (req) => {
      req.setHeader('Trailer', 'X-Sum');
      req.write('abcd');
      req.write('efg');
      req.addTrailers({ 'X-Sum': '7' });
      req.end();
    });
    const withLength = await send(agent, port, 'PUT', '/length', (req) => req.end('hijklm'));
    const plain = await send(agent, port, 'GET', '/plain', (req) => req.end());
    assert.deepEqual([chunked, withLength, plain], ['200 ok', '200 ok', '200 ok']);
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.trailer]),
      [
        ['POST', '/chunked', true],
        ['PUT', '/length', false],
        ['GET', '/plain', false],
      ],
    );
    assert.match(seen[0]?.body ?? '', /^4\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Sum: 7\r\n\r\n$/);
    assert.equal(seen[1]?.body, 'hijklm');
    assert.equal(sockets.size, 1, 'all three requests used one connection');
  } finally {
    agent.destroy();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('responses from a real HTTP server are framed so the next one is found: chunked, length, 204, HEAD', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/chunked') {
      res.write('part1-');
      res.end('part2');
    } else if (req.url === '/empty') {
      res.writeHead(204).end();
    } else {
      res.setHeader('Content-Length', 5);
      res.end(req.method === 'HEAD' ? undefined : 'fixed');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  try {
    const requests = [
      ['GET', '/chunked'],
      ['HEAD', '/fixed'],
      ['GET', '/empty'],
      ['GET', '/fixed'],
    ] as const;
    // Pipelined: all requests at once; the responses come back in one stream.
    socket.write(requests.map(([m, p]) => `${m} ${p} HTTP/1.1\r\nHost: t\r\n\r\n`).join(''));
    const results: Array<[number, string, string]> = [];
    let parser = new ResponseHeadParser();
    let framer: BodyFramer | undefined;
    let body = '';
    let index = 0;
    const finished = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (data: Buffer) => {
        let chunk = data;
        while (chunk.length > 0) {
          if (framer === undefined) {
            const head = parser.push(chunk);
            if (head === undefined) return;
            const method = requests[index]?.[0] ?? 'GET';
            framer = new BodyFramer(responseBodyKind(method, head), { side: 'response' });
            results.push([head.status, getHeader(head.headers, 'transfer-encoding') ?? '', '']);
            chunk = parser.takeRemainder();
          }
          const n = framer.consume(chunk);
          body += chunk.subarray(0, n).toString('latin1');
          chunk = chunk.subarray(n);
          if (framer.done) {
            (results[results.length - 1] as [number, string, string])[2] = body;
            body = '';
            framer = undefined;
            parser = new ResponseHeadParser();
            index += 1;
            if (index === requests.length) resolve();
          }
        }
      });
    });
    await finished;
    assert.deepEqual(results, [
      [200, 'chunked', '6\r\npart1-\r\n5\r\npart2\r\n0\r\n\r\n'],
      [200, '', ''],
      [204, '', ''],
      [200, '', 'fixed'],
    ]);
  } finally {
    socket.destroy();
    server.close();
  }
});
