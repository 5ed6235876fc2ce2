import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { CONNECT_ESTABLISHED, ConnectRequestParser, type ConnectRequest } from '../../src/vhost/connect-request.js';
import { isBurrowError } from '../../src/util/errors.js';

function parse(text: string): { request: ConnectRequest; rest: Buffer } {
  const parser = new ConnectRequestParser();
  let request: ConnectRequest | undefined;
  for (const b of Buffer.from(text, 'latin1')) request = parser.push(Buffer.from([b])) ?? request;
  assert.ok(request);
  return { request, rest: parser.takeRemainder() };
}

function basic(user: string, pwd: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pwd}`).toString('base64');
}

test('CONNECT: routing host lower-cased without port, Proxy-Authorization credentials, tunnel bytes kept', () => {
  const { request, rest } = parse(
    `CONNECT DB.Example.com.:5432 HTTP/1.1\r\nHost: ignored\r\nProxy-Authorization: ${basic('alice', 's3:cret')}\r\n\r\n\x00\x01tunnel`,
  );
  assert.equal(request.host, 'db.example.com');
  assert.equal(request.port, 5432);
  assert.equal(request.authority, 'DB.Example.com.:5432');
  assert.equal(request.user, 'alice');
  assert.deepEqual(request.credentials, { user: 'alice', password: 's3:cret' });
  assert.equal(rest.toString('latin1'), '\x00\x01tunnel');
  assert.equal(request.head.method, 'CONNECT');
});

test('CONNECT: no port, IPv6 target, no credentials', () => {
  assert.deepEqual((({ host, port, user, credentials }) => ({ host, port, user, credentials }))(parse('CONNECT example.com HTTP/1.1\r\n\r\n').request), {
    host: 'example.com',
    port: undefined,
    user: '',
    credentials: undefined,
  });
  const v6 = parse('CONNECT [2001:DB8::1]:443 HTTP/1.1\r\n\r\n').request;
  assert.equal(v6.host, '2001:db8::1');
  assert.equal(v6.port, 443);
  // Authorization (not Proxy-) does not name a tcpmux user.
  assert.equal(parse(`CONNECT a.com:1 HTTP/1.1\r\nAuthorization: ${basic('bob', 'x')}\r\n\r\n`).request.user, '');
});

test('CONNECT: wrong method, bad port or malformed target are 400', () => {
  for (const text of [
    'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    'CONNECT a.com:0 HTTP/1.1\r\n\r\n',
    'CONNECT a.com:70000 HTTP/1.1\r\n\r\n',
    'CONNECT a.com:x HTTP/1.1\r\n\r\n',
    'CONNECT 2001:db8::1 HTTP/1.1\r\n\r\n',
    'CONNECT [::1 HTTP/1.1\r\n\r\n',
    'CONNECT :443 HTTP/1.1\r\n\r\n',
    'CONNECT user@a.com:443 HTTP/1.1\r\n\r\n',
  ]) {
    assert.throws(
      () => new ConnectRequestParser().push(Buffer.from(text)),
      (err: unknown) => isBurrowError(err, 'BURROW_HTTP_BAD_REQUEST'),
      text,
    );
  }
});

test("a real HTTP client's CONNECT is parsed and our 200 answer opens the tunnel for it", async () => {
  let seen: ConnectRequest | undefined;
  const server = net.createServer((socket) => {
    const parser = new ConnectRequestParser();
    socket.on('data', (chunk: Buffer) => {
      if (seen !== undefined) {
        socket.write(chunk); // echo through the "tunnel"
        return;
      }
      seen = parser.push(chunk);
      if (seen === undefined) return;
      socket.write(CONNECT_ESTABLISHED);
      const rest = parser.takeRemainder();
      if (rest.length > 0) socket.write(rest);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const req = http.request({
      host: '127.0.0.1',
      port: (server.address() as net.AddressInfo).port,
      method: 'CONNECT',
      path: 'App.Internal:8443',
      headers: { 'Proxy-Authorization': basic('carol', 'pw') },
      agent: false,
    });
    req.end();
    const [res, socket] = (await once(req, 'connect')) as [http.IncomingMessage, net.Socket];
    assert.equal(res.statusCode, 200);
    socket.write('ping');
    const [echo] = (await once(socket, 'data')) as [Buffer];
    assert.equal(echo.toString(), 'ping');
    socket.destroy();
    assert.equal(seen?.host, 'app.internal');
    assert.equal(seen?.port, 8443);
    assert.equal(seen?.user, 'carol');
    assert.equal(CONNECT_ESTABLISHED.toString(), 'HTTP/1.1 200 OK\r\n\r\n');
  } finally {
    server.close();
  }
});
