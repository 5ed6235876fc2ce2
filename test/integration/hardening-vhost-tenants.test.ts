import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BurrowClient } from '../../src/client/client.js';
import type { BurrowServer } from '../../src/server/server.js';
import type { RawProxy } from '../helpers/config.js';
import { vhostRequest } from '../helpers/http.js';
import { freePort, makeClient, startEcho, startServer, waitFor, type EchoService } from '../helpers/tunnel.js';

/** An HTTP service that answers with its name and keeps the headers it was sent. */
async function namedBackend(name: string): Promise<{ server: HttpServer; port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers);
    res.end(`${name} ${req.url ?? ''}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

function clientOf(server: BurrowServer, user: string, proxies: RawProxy[]): BurrowClient {
  return makeClient(server.port, { proxies, extra: { user } });
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('vhost domains belong to the user who registered them first', () => {
  let server: BurrowServer;
  let alice: BurrowClient;
  let a: Awaited<ReturnType<typeof namedBackend>>;
  let b: Awaited<ReturnType<typeof namedBackend>>;
  let echo: EchoService;
  const started: BurrowClient[] = [];

  before(async () => {
    a = await namedBackend('alice');
    b = await namedBackend('bob');
    echo = await startEcho();
    server = await startServer({ vhostHTTPPort: await freePort(), vhostHTTPSPort: await freePort(), tcpmuxHTTPConnectPort: await freePort() });
    alice = clientOf(server, 'alice', [
      { name: 'shop', type: 'http', localPort: a.port, customDomains: ['shop.example.com'] },
      { name: 'lb', type: 'http', localPort: a.port, customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'secret-k' } },
      { name: 'tls', type: 'https', localPort: echo.port, customDomains: ['tls.example.com'] },
      { name: 'mux', type: 'tcpmux', multiplexer: 'httpconnect', localPort: echo.port, customDomains: ['mux.example.com'] },
    ]);
    await alice.start();
    for (const n of ['shop', 'lb', 'tls', 'mux']) await alice.waitForProxy(n);
  });

  after(async () => {
    for (const c of started) c.stop();
    alice.stop();
    await server.stop();
    a.server.close();
    b.server.close();
    await echo.close();
  });

  async function bobTries(proxy: RawProxy): Promise<string> {
    const bob = clientOf(server, 'bob', [{ localPort: b.port, ...proxy }]);
    started.push(bob);
    await bob.start();
    try {
      await bob.waitForProxy(proxy.name as string);
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  }

  test("another user's location '/' on a domain registered without location is refused, naming the domain", async () => {
    const answer = await bobTries({ name: 'steal-root', type: 'http', customDomains: ['shop.example.com'], locations: ['/'] });
    assert.match(answer, /domain \[shop\.example\.com\] belongs to another user/);
    const r = await vhostRequest(server.vhostHttpPort, 'shop.example.com', '/cart');
    assert.equal(r.body.toString(), 'alice /cart', 'the traffic still reaches the owner');
  });

  test("another user's routeByHTTPUser route on the domain is refused; that user's Authorization still reaches the owner", async () => {
    const answer = await bobTries({ name: 'steal-user', type: 'http', customDomains: ['shop.example.com'], routeByHTTPUser: 'carol' });
    assert.match(answer, /domain \[shop\.example\.com\] belongs to another user/);
    const before = b.seen.length;
    const r = await vhostRequest(server.vhostHttpPort, 'shop.example.com', '/me', { headers: { authorization: basic('carol', 'pw') } });
    assert.equal(r.body.toString(), 'alice /me');
    assert.equal(b.seen.length, before, "bob's service saw none of carol's requests");
  });

  test('https (SNI) and tcpmux domains, and a domain of another vhost kind, are owned the same way', async () => {
    assert.match(
      await bobTries({ name: 'steal-tls', type: 'https', customDomains: ['tls.example.com'] }),
      /domain \[tls\.example\.com\] belongs to another user/,
    );
    assert.match(
      await bobTries({ name: 'steal-mux', type: 'tcpmux', multiplexer: 'httpconnect', customDomains: ['mux.example.com'] }),
      /domain \[mux\.example\.com\] belongs to another user/,
    );
    assert.match(
      await bobTries({ name: 'steal-cross', type: 'https', customDomains: ['shop.example.com'] }),
      /domain \[shop\.example\.com\] belongs to another user/,
    );
  });

  test('another user joins through the load-balancing group only with the group key', async () => {
    assert.match(
      await bobTries({ name: 'lb-wrong', type: 'http', customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'guess' } }),
      /domain \[lb\.example\.com\] belongs to another user/,
    );
    assert.equal(
      await bobTries({ name: 'lb-member', type: 'http', customDomains: ['lb.example.com'], loadBalancer: { group: 'web', groupKey: 'secret-k' } }),
      'accepted',
    );
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await vhostRequest(server.vhostHttpPort, 'lb.example.com', '/')).body.toString().split(' ')[0]!);
    assert.deepEqual([...names].sort(), ['alice', 'bob']);
    // Being a group member gives no right to add routes of one's own to the domain.
    assert.match(await bobTries({ name: 'lb-api', type: 'http', customDomains: ['lb.example.com'], locations: ['/api'] }), /belongs to another user/);
  });

  test('the owner adds locations as before; the same exact route twice is the frp conflict, not an ownership refusal', async () => {
    const more = clientOf(server, 'alice', [
      { name: 'shop-api', type: 'http', localPort: b.port, customDomains: ['shop.example.com'], locations: ['/api'] },
      { name: 'shop-again', type: 'http', localPort: b.port, customDomains: ['shop.example.com'] },
    ]);
    started.push(more);
    await more.start();
    await more.waitForProxy('shop-api');
    await assert.rejects(more.waitForProxy('shop-again'), (err: Error) => {
      assert.match(err.message, /domain \[shop\.example\.com\] location \[\] routeByHTTPUser \[\] is already used by proxy \[alice\.shop\]/);
      assert.doesNotMatch(err.message, /another user/);
      return true;
    });
    assert.equal((await vhostRequest(server.vhostHttpPort, 'shop.example.com', '/api/x')).body.toString(), 'bob /api/x');
  });

  test('an owner that went away keeps its domain for a grace period and gets it back on its return', async () => {
    const proxies: RawProxy[] = [{ name: 'temp', type: 'http', localPort: a.port, customDomains: ['temp.example.com'] }];
    const owner = clientOf(server, 'dave', proxies);
    await owner.start();
    await owner.waitForProxy('temp');
    assert.match(await bobTries({ name: 'temp-early', type: 'http', customDomains: ['temp.example.com'] }), /belongs to another user/);
    owner.stop();
    // The server drops dave's routes with his control connection, but not his claim on the domain.
    await waitFor(() => !server.clients.some((c) => c.user === 'dave'), "dave's session to end");
    assert.match(await bobTries({ name: 'temp-later', type: 'http', customDomains: ['temp.example.com'] }), /belongs to another user/);
    const back = clientOf(server, 'dave', proxies);
    started.push(back);
    await back.start();
    await back.waitForProxy('temp');
    assert.equal((await vhostRequest(server.vhostHttpPort, 'temp.example.com', '/t')).body.toString(), 'alice /t');
  });
});
