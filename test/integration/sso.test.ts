import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SsoGate } from '../../src/server/sso/sso-gate.js';
import { silentLogger } from '../../src/util/logger.js';
import { RequestHeadParser, getHeader, type RequestHead } from '../../src/vhost/request-head.js';
import { makeSsoPolicy } from '../../src/vhost/sso-policy.js';
import { CookieBrowser } from '../helpers/cookie-browser.js';
import type { RawProxy } from '../helpers/config.js';
import { rawLogin } from '../helpers/raw-client.js';
import { SSO_CLIENT_ID, SSO_CLIENT_SECRET, startSsoIssuer, type SsoIssuer } from '../helpers/sso-issuer.js';
import { freePort, tunnelKit, whenDone } from '../helpers/tunnel.js';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** The home service: answers `home <path>` and remembers every request that reached it. */
async function startWeb(t: TestContext): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const web = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.end(`home ${req.url}`));
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  whenDone(t, () => new Promise((r) => web.close(r)));
  return { port: (web.address() as AddressInfo).port, seen };
}

async function issuerFor(t: TestContext, vhostPort: number, hosts: string[]): Promise<SsoIssuer> {
  const issuer = await startSsoIssuer(hosts.map((h) => `http://${h}:${vhostPort}/.burrow/sso/callback`));
  whenDone(t, () => issuer.close());
  return issuer;
}

const provider = (issuer: SsoIssuer) => ({ issuer: issuer.issuer, clientID: SSO_CLIENT_ID, clientSecret: SSO_CLIENT_SECRET });

/** The http proxy `name` for `domain`, with its own sso allowing alice and anyone at corp.test. */
function ssoProxy(name: string, domain: string, webPort: number, issuer: SsoIssuer, extra: RawProxy = {}): RawProxy {
  return {
    name,
    type: 'http',
    localIP: '127.0.0.1',
    localPort: webPort,
    customDomains: [domain],
    sso: { ...provider(issuer), allowedEmails: ['alice@example.com'], allowedDomains: ['corp.test'] },
    ...extra,
  };
}

/** Signs in as `email` from `url` through the issuer; every answer on the way. */
async function login(browser: CookieBrowser, issuer: SsoIssuer, url: string, email: string) {
  issuer.loginAs = email;
  return browser.follow(url, 12);
}

/** One server, one client with proxy `app` for app.test behind its own sso, the web service behind it, and a fresh browser. */
async function protectedApp(t: TestContext) {
  const kit = tunnelKit(t);
  const web = await startWeb(t);
  const vhostHTTPPort = await freePort();
  const issuer = await issuerFor(t, vhostHTTPPort, ['app.test']);
  const server = await kit.startServer({ vhostHTTPPort });
  const client = kit.makeClient(server.port, { proxies: [ssoProxy('app', 'app.test', web.port, issuer)] });
  await client.start();
  await client.waitForProxy('app');
  return { web, issuer, base: `http://app.test:${vhostHTTPPort}`, browser: new CookieBrowser() };
}

describe('SSO at the edge: an OIDC login in front of http proxies', () => {
  test("a proxy's own sso: GET is sent to the issuer, POST gets 401, a login reaches the service with the email and without the cookie, logout ends it", async (t) => {
    const { web, issuer, base, browser } = await protectedApp(t);

    const first = await browser.request(`${base}/page?x=1`);
    assert.equal(first.status, 302);
    const to = new URL(String(first.headers.location));
    assert.equal(`${to.origin}${to.pathname}`, `${issuer.issuer}/auth`);
    assert.equal(to.searchParams.get('client_id'), SSO_CLIENT_ID);
    assert.equal(to.searchParams.get('response_type'), 'code');
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(to.searchParams.get('redirect_uri'), `${base}/.burrow/sso/callback`);
    assert.ok(to.searchParams.get('state') && to.searchParams.get('nonce') && to.searchParams.get('code_challenge'));
    const stateCookie = String(first.headers['set-cookie']);
    assert.match(stateCookie, /^burrow_sso_state_[0-9a-f]{12}=[^;]+; Path=\/\.burrow\/sso; Max-Age=600; HttpOnly; SameSite=Lax$/);

    const post = await browser.request(`${base}/hook`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 401);
    assert.equal(web.seen.length, 0, 'nothing reached the service before a login');

    browser.setCookie('app.test', 'theme', 'dark');
    const steps = await login(browser, issuer, `${base}/page?x=1`, 'alice@example.com');
    const last = steps.at(-1);
    assert.equal(last?.status, 200, JSON.stringify(steps.map((s) => [s.url, s.status, s.body.slice(0, 200)])));
    assert.equal(last?.body, 'home /page?x=1');
    const callback = steps.find((s) => s.url.startsWith(`${base}/.burrow/sso/callback`));
    assert.match(String(callback?.headers['set-cookie']), /burrow_sso_[0-9a-f]{12}=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax(,|$)/);
    assert.equal(issuer.tokenRequests, 1);
    const reached = web.seen.at(-1);
    assert.equal(reached?.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal(reached?.headers.cookie, 'theme=dark', 'the session cookie is not sent upstream');

    // A browser's own X-Forwarded-Email is replaced, never passed on.
    const spoofed = await browser.request(`${base}/again`, { headers: { 'x-forwarded-email': 'admin@example.com' } });
    assert.equal(spoofed.body, 'home /again');
    assert.equal(web.seen.at(-1)?.headers['x-forwarded-email'], 'alice@example.com');

    const out = await browser.request(`${base}/.burrow/sso/logout`);
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /burrow_sso_[0-9a-f]{12}=; Path=\/; Max-Age=0/);
    const after = await browser.request(`${base}/page`);
    assert.equal(after.status, 302);
    assert.equal(web.seen.length, 2);
  });

  test('an email not allowed gets 403 and never reaches the service; an unverified one neither; a domain on allowedDomains passes', async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['app.test']);
    const server = await kit.startServer({ vhostHTTPPort });
    const client = kit.makeClient(server.port, { proxies: [ssoProxy('app', 'app.test', web.port, issuer)] });
    await client.start();
    await client.waitForProxy('app');
    const base = `http://app.test:${vhostHTTPPort}`;

    const mallory = await login(new CookieBrowser(), issuer, `${base}/`, 'mallory@example.com');
    assert.equal(mallory.at(-1)?.status, 403);
    assert.match(mallory.at(-1)?.body ?? '', /mallory@example\.com may not use this address/);
    // Past U+00FF: written byte-per-char upstream, U+010D U+010A would become CR LF and add a header.
    const injected = await login(new CookieBrowser(), issuer, `${base}/`, 'eve\u010d\u010aX-Admin:yes\u010d\u010aX@corp.test');
    assert.equal(injected.at(-1)?.status, 403);
    assert.match(injected.at(-1)?.body ?? '', /printable ASCII only/);
    issuer.emailVerified = false;
    const unverified = await login(new CookieBrowser(), issuer, `${base}/`, 'bob@corp.test');
    assert.equal(unverified.at(-1)?.status, 403);
    assert.match(unverified.at(-1)?.body ?? '', /not verified/);
    assert.equal(web.seen.length, 0);

    issuer.emailVerified = true;
    // A target that would read as another host when relative goes back to this origin.
    const bob = await login(new CookieBrowser(), issuer, `${base}//evil.example/`, 'bob@corp.test');
    const back = bob.find((a) => a.url.startsWith(`${base}/.burrow/sso/callback`));
    assert.equal(back?.headers.location, `${base}//evil.example/`);
    assert.equal(bob.at(-1)?.body, 'home //evil.example/');
    assert.equal(web.seen.at(-1)?.headers['x-forwarded-email'], 'bob@corp.test');
  });

  test('a tampered session cookie is refused: the request goes to the issuer, not to the service', async (t) => {
    const { web, issuer, base, browser } = await protectedApp(t);
    assert.equal((await login(browser, issuer, `${base}/`, 'alice@example.com')).at(-1)?.status, 200);
    const name = [...(browser.jar.get('app.test')?.keys() ?? [])].find((n) => /^burrow_sso_[0-9a-f]{12}$/.test(n)) ?? '';
    const value = browser.cookie('app.test', name) ?? '';
    const [payload = '', mac = ''] = value.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { e: string };
    const forged = Buffer.from(JSON.stringify({ ...claims, e: 'boss@example.com' })).toString('base64url');
    const before = web.seen.length;
    for (const bad of [`${forged}.${mac}`, `${payload}.${mac.slice(0, -2)}AA`, 'garbage', '']) {
      browser.setCookie('app.test', name, bad);
      const answer = await browser.request(`${base}/secret`);
      assert.equal(answer.status, 302, `cookie ${bad}`);
    }
    assert.equal(web.seen.length, before);
  });

  test('server-wide [[sso]] protects a stock-frpc-style proxy; its session does not pass on another domain of the same table', async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['a.team.test', 'b.team.test']);
    const server = await kit.startServer({
      vhostHTTPPort,
      sso: [{ domains: ['*.team.test'], ...provider(issuer), allowedEmails: ['alice@example.com'], emailHeader: 'X-Team-User' }],
    });
    // As a stock frpc logs in and registers (no burrow_features, no burrow_sso).
    const frpc = await rawLogin(server.port);
    whenDone(t, () => frpc.close());
    const resp = await frpc.newProxy({ proxy_name: 'a', proxy_type: 'http', custom_domains: ['a.team.test'] });
    assert.equal(resp.type === 'NewProxyResp' && resp.body.error, undefined);
    // A burrow client's proxy without sso of its own, on another covered domain.
    const client = kit.makeClient(server.port, {
      proxies: [{ name: 'b', type: 'http', localIP: '127.0.0.1', localPort: web.port, customDomains: ['b.team.test'] }],
    });
    await client.start();
    await client.waitForProxy('b');

    const browser = new CookieBrowser();
    issuer.loginAs = 'alice@example.com';
    const served = serveOneRequest(frpc);
    const steps = await browser.follow(`http://a.team.test:${vhostHTTPPort}/dash`, 12);
    assert.equal(steps.at(-1)?.body, 'stock frpc says hi');
    const head = await served;
    assert.equal(head.target, '/dash');
    assert.equal(getHeader(head.headers, 'x-team-user'), 'alice@example.com');
    assert.equal(getHeader(head.headers, 'cookie'), undefined);

    // a.team.test's cookie, copied to b.team.test by hand, is not b's session.
    const name = [...(browser.jar.get('a.team.test')?.keys() ?? [])].find((n) => /^burrow_sso_[0-9a-f]{12}$/.test(n)) ?? '';
    browser.setCookie('b.team.test', name, browser.cookie('a.team.test', name) ?? '');
    const onB = await browser.request(`http://b.team.test:${vhostHTTPPort}/`);
    assert.equal(onB.status, 302);
    assert.equal(web.seen.length, 0);
  });

  test("the server's [[sso]] wins over a proxy's own; a login begun under a location returns there; the issuer's refusal and a callback without its state are pages", async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['app.test', 'loc.test']);
    const server = await kit.startServer({
      vhostHTTPPort,
      sso: [{ domains: ['app.test'], ...provider(issuer), allowedEmails: ['carol@example.com'] }],
    });
    const client = kit.makeClient(server.port, {
      proxies: [
        // Its own sso would let alice in; the server's table for app.test lets only carol in.
        ssoProxy('app', 'app.test', web.port, issuer),
        ssoProxy('loc', 'loc.test', web.port, issuer, { locations: ['/app'] }),
      ],
    });
    await client.start();
    await client.waitForProxy('app');
    await client.waitForProxy('loc');
    const app = `http://app.test:${vhostHTTPPort}`;
    assert.equal((await login(new CookieBrowser(), issuer, `${app}/`, 'alice@example.com')).at(-1)?.status, 403);
    const carol = await login(new CookieBrowser(), issuer, `${app}/`, 'carol@example.com');
    assert.equal(carol.at(-1)?.body, 'home /');
    assert.equal(web.seen.at(-1)?.headers['x-forwarded-email'], 'carol@example.com');

    // /.burrow/sso/callback is outside the proxy's locations: the login state routes it.
    const loc = `http://loc.test:${vhostHTTPPort}`;
    const alice = await login(new CookieBrowser(), issuer, `${loc}/app/x`, 'alice@example.com');
    assert.equal(alice.at(-1)?.body, 'home /app/x');

    const browser = new CookieBrowser();
    const start = await browser.request(`${loc}/app/`);
    const state = new URL(String(start.headers.location)).searchParams.get('state');
    const refused = await browser.request(`${loc}/.burrow/sso/callback?error=access_denied&state=${state}`);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /did not sign you in/);
    const stray = await new CookieBrowser().request(`${app}/.burrow/sso/callback?code=abc&state=def`);
    assert.equal(stray.status, 400);
    assert.equal(issuer.tokenRequests, 3, 'three logins; neither of the last two reached the token endpoint');
  });

  test('a burrow client does not register an sso proxy with a server that does not say it is burrow (LoginResp without burrow_server)', async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['app.test']);
    const server = await kit.startServer({ vhostHTTPPort, transport: { tcpMux: false } });
    // The server answers as a stock frps does when the Login names no burrow_features.
    const frpsLike = await startLoginRewriter(t, server.port);
    const client = kit.makeClient(frpsLike, {
      tcpMux: false,
      tls: false,
      proxies: [
        ssoProxy('app', 'app.test', web.port, issuer),
        { name: 'open', type: 'http', localIP: '127.0.0.1', localPort: web.port, customDomains: ['open.test'] },
      ],
    });
    await client.start();
    await client.waitForProxy('open');
    await assert.rejects(client.waitForProxy('app'), /sso: this server does not support sso/);
    assert.equal(client.status('app')?.phase, 'start error');
    // Nothing was registered for app.test: the server has no route for it.
    assert.equal((await new CookieBrowser().request(`http://app.test:${vhostHTTPPort}/`)).status, 404);
    assert.equal(web.seen.length, 0);
  });

  test('with a server [[sso]], a Host the globs cannot judge (empty label, odd byte, none at all) gets 400 and never reaches a wildcard route', async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['a.team.test']);
    const server = await kit.startServer({ vhostHTTPPort, sso: [{ domains: ['*.team.test'], ...provider(issuer), allowedEmails: ['alice@example.com'] }] });
    const client = kit.makeClient(server.port, {
      proxies: [{ name: 'wild', type: 'http', localIP: '127.0.0.1', localPort: web.port, customDomains: ['*.team.test'] }],
    });
    await client.start();
    await client.waitForProxy('wild');
    for (const host of ['.team.test', 'x..team.test', 'x~.team.test', 'a!b.team.test', 'x.team.test..']) {
      const answer = await rawExchange(vhostHTTPPort, `GET /secret HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, `Host: ${host}`);
      assert.match(answer, /not a plain host name/);
    }
    assert.match(await rawExchange(vhostHTTPPort, 'GET /secret HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 400 /, 'no Host at all');
    assert.equal(web.seen.length, 0);
    // A plain covered name still goes to the sign-in.
    assert.match(await rawExchange(vhostHTTPPort, 'GET /secret HTTP/1.1\r\nHost: x.team.test\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 302 /);
  });

  test('a path with dot segments or "//" that a backend would resolve to a location behind a sign-in gets 400; one that stays on its route passes', async (t) => {
    const kit = tunnelKit(t);
    const web = await startWeb(t);
    const vhostHTTPPort = await freePort();
    const issuer = await issuerFor(t, vhostHTTPPort, ['app.test']);
    const server = await kit.startServer({ vhostHTTPPort });
    const client = kit.makeClient(server.port, {
      proxies: [
        { name: 'hook', type: 'http', localIP: '127.0.0.1', localPort: web.port, customDomains: ['app.test'], locations: ['/webhook'] },
        ssoProxy('admin', 'app.test', web.port, issuer, { locations: ['/admin'] }),
      ],
    });
    await client.start();
    await client.waitForProxy('hook');
    await client.waitForProxy('admin');
    const get = (target: string): Promise<string> => rawExchange(vhostHTTPPort, `GET ${target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`);
    for (const target of ['/webhook/../admin', '/webhook%2f..%2fadmin', '/webhook/%2e%2e/admin/x', '//admin', '/./admin', '/webhook/./../admin']) {
      const answer = await get(target);
      assert.match(answer, /^HTTP\/1\.1 400 /, target);
      assert.match(answer, /lead past a sign-in/);
    }
    assert.equal(web.seen.length, 0);
    assert.match(await get('/admin/./x'), /^HTTP\/1\.1 302 /, 'same route: the sign-in as usual');
    const open = await get('/webhook/a/../b');
    assert.match(open, /^HTTP\/1\.1 200 /);
    assert.deepEqual(
      web.seen.map((s) => s.url),
      ['/webhook/a/../b'],
    );
  });

  test('over TLS (a name whose TLS the HTTPS vhost terminates) the redirect names https and the cookie is Secure', async (t) => {
    const issuer = await issuerFor(t, 443, ['app.test']);
    const policy = makeSsoPolicy({
      ...{ issuer: issuer.issuer, clientId: SSO_CLIENT_ID, clientSecret: SSO_CLIENT_SECRET },
      allowedEmails: ['alice@example.com'],
      allowedDomains: [],
      sessionSeconds: 3600,
      emailHeader: 'X-Forwarded-Email',
      source: 'sso[0]',
    });
    const gate = new SsoGate([{ domains: [/^app\.test$/], policy }], Buffer.alloc(32, 1), silentLogger);
    const head = new RequestHeadParser().push(Buffer.from('GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n'));
    assert.ok(head);
    const verdict = await gate.check(head, 'https', undefined, () => undefined);
    assert.ok(verdict && 'answer' in verdict);
    const text = verdict.answer.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 302 /);
    assert.match(text, /redirect_uri=https%3A%2F%2Fapp\.test%2F\.burrow%2Fsso%2Fcallback/);
    assert.match(text, /\r\nSet-Cookie: burrow_sso_state_[0-9a-f]{12}=[^\r]+; HttpOnly; SameSite=Lax; Secure\r\n/);
    // A host no table covers, with no route: not the gate's business.
    const other = new RequestHeadParser().push(Buffer.from('GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n'));
    assert.ok(other);
    assert.equal(await gate.check(other, 'https', undefined, () => undefined), undefined);
  });
});

/**
 * A relay to the server that removes `burrow_features` from each Login (v1
 * framing, no TLS, no mux), so the server answers as a stock frps would.
 */
async function startLoginRewriter(t: TestContext, serverPort: number): Promise<number> {
  const relay = createServer((from: Socket) => {
    const to = connect({ host: '127.0.0.1', port: serverPort });
    from.on('error', () => to.destroy());
    to.on('error', () => from.destroy());
    let head = Buffer.alloc(0);
    const firstFrame = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 9) return;
      const end = 9 + Number(head.readBigInt64BE(1));
      if (head.length < end) return;
      from.off('data', firstFrame);
      let frame = head.subarray(0, end);
      if (frame[0] === 0x6f) {
        const body = JSON.parse(frame.subarray(9).toString()) as Record<string, unknown>;
        delete body.burrow_features;
        const json = Buffer.from(JSON.stringify(body));
        const header = Buffer.alloc(9);
        header[0] = 0x6f;
        header.writeBigInt64BE(BigInt(json.length), 1);
        frame = Buffer.concat([header, json]);
      }
      to.write(Buffer.concat([frame, head.subarray(end)]));
      from.pipe(to);
      to.pipe(from);
    };
    from.on('data', firstFrame);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  whenDone(t, () => {
    relay.close();
  });
  return (relay.address() as AddressInfo).port;
}

/** Answers the next user request the server sends this raw client: returns its head, replies with a fixed body. */
async function serveOneRequest(frpc: Awaited<ReturnType<typeof rawLogin>>): Promise<RequestHead> {
  const { stream } = await frpc.serveWorkConn(20_000);
  const head = await readHead(stream);
  stream.end('HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\nstock frpc says hi');
  return head;
}

function readHead(stream: Duplex): Promise<RequestHead> {
  const parser = new RequestHeadParser();
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      const head = parser.push(chunk);
      if (head) {
        stream.off('data', onData);
        resolve(head);
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

/** Sends `request` as raw bytes (any Host, any path) and returns everything answered until the server closes. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.end(request);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}
