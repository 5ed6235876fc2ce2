import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { burrowOnlyRefusal } from '../../src/client/burrow-only.js';
import { newProxyMessage } from '../../src/client/new-proxy.js';
import { ProxySet, type ProxyHost, type ProxySession } from '../../src/client/proxy-set.js';
import type { ProxyStatus } from '../../src/client/proxy-status.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import type { BurrowServerInfo } from '../../src/protocol/messages.js';
import { proxySsoPolicy } from '../../src/proxy/http/sso.js';
import { SsoCookieSigner, parseCookies, setCookie } from '../../src/server/sso/sso-cookies.js';
import { silentLogger } from '../../src/util/logger.js';
import { rewriteRequestHead } from '../../src/vhost/head-rewrite.js';
import { RequestHeadParser } from '../../src/vhost/request-head.js';
import { emailAllowed, makeSsoPolicy, usableEmail } from '../../src/vhost/sso-policy.js';
import { clientConfig, problems, serverConfig, type RawProxy } from '../helpers/config.js';

const SSO = { issuer: 'https://login.example.com', clientID: 'app', clientSecret: 's3cret', allowedEmails: ['alice@example.com'] };

function httpProxy(extra: RawProxy = {}): RawProxy {
  return { name: 'web', type: 'http', localPort: 8080, customDomains: ['web.example.com'], sso: SSO, ...extra };
}

function ssoProxyConfig(): ProxyConfig {
  const proxy = clientConfig(7000, { proxies: [httpProxy()] }).proxies[0];
  assert.ok(proxy);
  return proxy;
}

describe('sso config keys', () => {
  test("a proxy's sso loads with its defaults", () => {
    const sso = ssoProxyConfig().sso;
    assert.deepEqual(sso, { ...SSO, allowedDomains: [], sessionSeconds: 43200, emailHeader: 'X-Forwarded-Email' });
  });

  test('every bad or unknown key is refused by name', () => {
    const found = problems(() =>
      clientConfig(7000, {
        proxies: [
          httpProxy({ sso: { ...SSO, allowedEmails: ['not-an-address'], allowedDomains: ['@example.com'], emailHeader: 'Cookie', sessionSeconds: 10 } }),
          httpProxy({ name: 'b', sso: { issuer: 'login.example.com', clientID: '', clientSecret: 'x' } }),
          { name: 't', type: 'tcp', localPort: 22, sso: SSO },
          // biome-ignore lint/suspicious/noExplicitAny: an unknown key on purpose
          httpProxy({ name: 'u', sso: { ...SSO, audience: 'x' } as any }),
        ],
      }),
    );
    const has = (prefix: string): void =>
      assert.ok(
        found.some((p) => p.startsWith(prefix)),
        `${prefix} in ${JSON.stringify(found)}`,
      );
    has('proxies[0].sso.allowedEmails[0]');
    has('proxies[0].sso.allowedDomains[0]');
    has('proxies[0].sso.emailHeader');
    has('proxies[0].sso.sessionSeconds');
    has('proxies[1].sso.issuer');
    has('proxies[1].sso.clientID');
    has('proxies[1].sso.allowedEmails: set allowedEmails or allowedDomains');
    has('proxies[2].sso');
    has('proxies[3].sso.audience');
  });

  test('server [[sso]] tables: domains required and globs, the cookie secret long enough, the http vhost on', () => {
    const ok = serverConfig({ vhostHTTPPort: 8080, ssoCookieSecret: 'x'.repeat(32), sso: [{ domains: ['*.team.example.com'], ...SSO }] });
    assert.equal(ok.sso[0]?.domains[0], '*.team.example.com');
    const found = problems(() =>
      serverConfig({
        ssoCookieSecret: 'short',
        sso: [
          { ...SSO, domains: [] },
          { ...SSO, domains: ['bad domain'] },
          // biome-ignore lint/suspicious/noExplicitAny: an unknown key on purpose
          { ...SSO, domains: ['a.example.com'], redirectURL: '/x' } as any,
        ],
      }),
    );
    const has = (prefix: string): void =>
      assert.ok(
        found.some((p) => p.startsWith(prefix)),
        `${prefix} in ${JSON.stringify(found)}`,
      );
    has('ssoCookieSecret');
    has('sso[0].domains');
    has('sso[1].domains[0]');
    has('sso[2].redirectURL');
    has('sso: needs vhostHTTPPort');
  });
});

describe('sso on the wire and on the server', () => {
  test('NewProxy carries burrow_sso and decodes back whole', () => {
    const msg = newProxyMessage(ssoProxyConfig(), 'web');
    const decoder = new MessageDecoder();
    decoder.push(encodeMessage({ type: 'NewProxy', body: msg }));
    const back = decoder.next();
    assert.equal(back?.type, 'NewProxy');
    assert.deepEqual(back?.type === 'NewProxy' ? back.body.burrow_sso : undefined, {
      issuer: SSO.issuer,
      client_id: 'app',
      client_secret: 's3cret',
      allowed_emails: ['alice@example.com'],
      session_seconds: 43200,
      email_header: 'X-Forwarded-Email',
    });
  });

  test('the server checks what a NewProxy asks for as the config does, naming the proxy', () => {
    assert.throws(
      () => proxySsoPolicy('web', { issuer: 'ftp://x', client_id: 'a', client_secret: 'b', allowed_emails: ['a@b.c'], email_header: 'Host' }),
      (err: Error) => /proxy "web": sso\.issuer: .*; sso\.emailHeader: "Host" is reserved/.test(err.message),
    );
    assert.throws(() => proxySsoPolicy('web', { issuer: 'https://x', client_id: 'a', client_secret: 'b' }), /sso\.allowedEmails/);
    const policy = proxySsoPolicy('web', { issuer: 'https://x', client_id: 'a', client_secret: 'b', allowed_domains: ['Corp.Example'] });
    assert.ok(policy && emailAllowed(policy, 'Bob@corp.example') && !emailAllowed(policy, 'bob@sub.corp.example') && !emailAllowed(policy, 'corp.example'));
  });

  test('cookies: signed, purpose-bound, and a changed byte or claim is refused', () => {
    const signer = new SsoCookieSigner(Buffer.alloc(32, 7));
    const session = signer.signSession({ h: 'a.example.com', p: 'abc', e: 'alice@example.com', x: 2_000_000_000 });
    assert.deepEqual(signer.readSession(session), { h: 'a.example.com', p: 'abc', e: 'alice@example.com', x: 2_000_000_000 });
    assert.equal(new SsoCookieSigner(Buffer.alloc(32, 8)).readSession(session), undefined, 'another key');
    const [payload = '', mac = ''] = session.split('.');
    const forged = Buffer.from(JSON.stringify({ h: 'a.example.com', p: 'abc', e: 'boss@example.com', x: 2_000_000_000 })).toString('base64url');
    assert.equal(signer.readSession(`${forged}.${mac}`), undefined);
    assert.equal(signer.readSession(`${payload}.${mac.slice(1)}`), undefined);
    const state = signer.signState({ h: 'a.example.com', p: 'abc', s: 's', n: 'n', r: '/', x: 2_000_000_000 });
    assert.equal(signer.readSession(state), undefined, 'a state cookie is not a session');
    assert.match(signer.pkceVerifier('s'), /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(
      [...parseCookies(['a=1; b=2', 'a=3'])],
      [
        ['a', '1'],
        ['b', '2'],
      ],
    );
    assert.equal(setCookie('n', 'v', { path: '/', maxAge: 60, secure: true }), 'n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
  });

  test('a request let through loses our cookies and the browser’s own email header, and gets the signed-in one', () => {
    const parser = new RequestHeadParser();
    const head = parser.push(
      Buffer.from(
        'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Email: boss@example.com\r\nCookie: burrow_sso_abc=x; theme=dark\r\nCookie: burrow_sso_state_abc=y\r\n\r\n',
      ),
    );
    assert.ok(head);
    const out = rewriteRequestHead(head, {
      clientIp: '127.0.0.1',
      proto: 'http',
      identity: { header: 'X-Forwarded-Email', value: 'alice@example.com' },
    }).toString('latin1');
    assert.match(out, /\r\nCookie: theme=dark\r\n/);
    assert.doesNotMatch(out, /burrow_sso|boss@/);
    assert.match(out, /\r\nX-Forwarded-Email: alice@example\.com\r\n/);
  });

  test('our cookies never go upstream, login or not; a header a CGI backend reads as the identity header (`_` for `-`) is dropped', () => {
    const head = new RequestHeadParser().push(
      Buffer.from(
        'GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_Email: boss@example.com\r\nx-forwarded_EMAIL: boss@example.com\r\nX-Forwarded-Emails: kept\r\nCookie: burrow_sso_abc=x; theme=dark\r\nCookie: burrow_sso_state_abc=y\r\nCookie: a=1;b=2\r\n\r\n',
      ),
    );
    assert.ok(head);
    const open = rewriteRequestHead(head, { clientIp: '127.0.0.1', proto: 'http' }).toString('latin1');
    assert.doesNotMatch(open, /burrow_sso/);
    assert.match(open, /\r\nCookie: theme=dark\r\nCookie: a=1;b=2\r\n/, 'cookies of others pass untouched');
    assert.match(open, /\r\nX_Forwarded_Email: boss@/, 'without a login the headers are not ours to judge');
    const signedIn = rewriteRequestHead(head, {
      clientIp: '127.0.0.1',
      proto: 'http',
      identity: { header: 'X-Forwarded-Email', value: 'alice@example.com' },
    }).toString('latin1');
    assert.doesNotMatch(signedIn, /boss@|burrow_sso/);
    assert.match(signedIn, /\r\nX-Forwarded-Emails: kept\r\n/);
    assert.match(signedIn, /\r\nX-Forwarded-Email: alice@example\.com\r\n/);
  });

  test('emails: printable ASCII only, compared ASCII-lowercased (no Unicode folding onto an allowed address)', () => {
    const policy = makeSsoPolicy({
      issuer: 'https://x',
      clientId: 'a',
      clientSecret: 'b',
      allowedEmails: ['Alice@Example.com'],
      allowedDomains: ['kelvin.test'],
      sessionSeconds: 60,
      emailHeader: 'X-E',
      source: 't',
    });
    assert.ok(usableEmail('alice@example.com') && emailAllowed(policy, 'ALICE@example.COM') && emailAllowed(policy, 'bob@KELVIN.test'));
    assert.equal(emailAllowed(policy, 'bob@\u212Aelvin.test'), false, 'the Kelvin sign is not k');
    assert.equal(emailAllowed(policy, 'al\u0130ce@example.com'), false);
    for (const bad of [
      'eve\u010d\u010aX:1@kelvin.test',
      'b\u0161b@kelvin.test',
      'a b@kelvin.test',
      'a@b@kelvin.test',
      '@kelvin.test',
      'x'.repeat(129) + '@kelvin.test',
      'a\x7f@kelvin.test',
    ]) {
      assert.equal(usableEmail(bad), false, JSON.stringify(bad));
      assert.equal(emailAllowed(policy, bad), false, JSON.stringify(bad));
    }
  });

  test('policies: the same issuer and client id give the same cookie id', () => {
    const base = {
      issuer: 'https://x',
      clientId: 'a',
      clientSecret: 'b',
      allowedEmails: [],
      allowedDomains: [],
      sessionSeconds: 60,
      emailHeader: 'X-E',
      source: 't',
    };
    assert.equal(makeSsoPolicy(base).id, makeSsoPolicy({ ...base, clientSecret: 'c', source: 'u' }).id);
    assert.notEqual(makeSsoPolicy(base).id, makeSsoPolicy({ ...base, clientId: 'other' }).id);
  });
});

describe('a burrow client and a server that is not burrow', () => {
  test('the decision: sso needs a server that names the sso feature, other proxies do not', () => {
    assert.match(burrowOnlyRefusal(ssoProxyConfig(), undefined) ?? '', /^sso: this server does not support sso \(it is not burrow/);
    assert.match(burrowOnlyRefusal(ssoProxyConfig(), { subdomain_host: '' }) ?? '', /^sso: this server does not support sso \(a burrow server older/);
    assert.match(burrowOnlyRefusal(ssoProxyConfig(), { features: ['udp-whole'] }) ?? '', /^sso: this server does not support sso/);
    assert.equal(burrowOnlyRefusal(ssoProxyConfig(), { features: ['sso'] }), undefined);
    const plain = clientConfig(7000, { proxies: [httpProxy({ sso: undefined })] }).proxies[0];
    assert.ok(plain);
    assert.equal(burrowOnlyRefusal(plain, undefined), undefined);
  });

  for (const info of [undefined, { subdomain_host: '' }, { features: ['sso'], subdomain_host: '' }] as Array<BurrowServerInfo | undefined>) {
    const supports = info?.features?.includes('sso') === true;
    test(`the proxy set ${supports ? 'registers' : 'does not register'} an sso proxy when LoginResp has ${info ? JSON.stringify(info) : 'no burrow_server'}`, () => {
      const sent: string[] = [];
      const statuses: ProxyStatus[] = [];
      const session: ProxySession = { serverInfo: info, registerProxy: (p) => void sent.push(p.name), closeProxy: () => {} };
      const host = {
        user: '',
        serverAddr: '127.0.0.1',
        cipherKey: Buffer.alloc(16),
        udpPacketSize: 1500,
        natHole: {} as ProxyHost['natHole'],
        inspector: {} as ProxyHost['inspector'],
        retryTiming: { firstMs: 3000, maxMs: 30_000, answerMs: 20_000 },
        log: silentLogger,
        session: () => session,
        changed: (s: ProxyStatus) => void statuses.push(s),
      } satisfies ProxyHost;
      const set = new ProxySet(host, [ssoProxyConfig()]);
      set.registerAll();
      const status = set.status('web');
      if (supports) {
        assert.deepEqual(sent, ['web']);
        assert.equal(status?.phase, 'wait start');
      } else {
        assert.deepEqual(sent, []);
        assert.equal(status?.phase, 'start error');
        assert.match(status?.err ?? '', /^sso: this server does not support sso/);
      }
      set.closeAll();
    });
  }
});
