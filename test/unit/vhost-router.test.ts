import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateDomains, MAX_ROUTES_PER_DOMAIN, VhostRouter, type VhostRoute } from '../../src/vhost/router.js';
import { proxyDomains } from '../../src/vhost/domains.js';
import { isBurrowError } from '../../src/util/errors.js';

function route(domain: string, name: string, extra: Partial<VhostRoute<string>> = {}): VhostRoute<string> {
  return { domain, location: '', routeByHTTPUser: '', name, value: name, ...extra };
}

test('candidate domains: exact, wildcards while 3+ labels remain, then the catch-all', () => {
  assert.deepEqual(candidateDomains('a.b.example.com'), ['a.b.example.com', '*.b.example.com', '*.example.com', '*']);
  assert.deepEqual(candidateDomains('example.com'), ['example.com', '*']);
  assert.deepEqual(candidateDomains('localhost'), ['localhost', '*']);
});

test('host lookup order: exact, then the nearest wildcard, then *, never *.com for two labels', () => {
  const router = new VhostRouter<string>();
  router.add(route('App.Example.com', 'exact'));
  router.add(route('*.example.com', 'wild'));
  router.add(route('*.b.example.com', 'wild-b'));
  router.add(route('*.com', 'wild-com'));
  assert.equal(router.lookup('app.example.com', '/', ''), 'exact');
  assert.equal(router.lookup('APP.example.com', '/', ''), 'exact');
  assert.equal(router.lookup('other.example.com', '/', ''), 'wild');
  assert.equal(router.lookup('x.y.example.com', '/', ''), 'wild');
  assert.equal(router.lookup('a.b.example.com', '/', ''), 'wild-b');
  assert.equal(router.lookup('example.com', '/', ''), undefined, 'a two-label host never matches *.com');
  assert.equal(router.lookup('foo.com', '/', ''), undefined);
  assert.equal(router.lookup('x.foo.com', '/', ''), undefined, '*.com is never a candidate: at least two labels stay after the *');
  router.add(route('*', 'catch-all'));
  assert.equal(router.lookup('example.com', '/', ''), 'catch-all');
  assert.equal(router.lookup('', '/', ''), 'catch-all');
  assert.equal(router.lookup('other.example.com', '/', ''), 'wild', 'wildcards still come before the catch-all');
  assert.equal(router.size, 5);
});

test('locations: descending order, first prefix wins (longest for nested), "" matches everything', () => {
  const router = new VhostRouter<string>();
  router.add(route('a.com', 'root', { location: '' }));
  router.add(route('a.com', 'api', { location: '/api' }));
  router.add(route('a.com', 'api-v2', { location: '/api/v2' }));
  router.add(route('a.com', 'static', { location: '/static/' }));
  assert.equal(router.lookup('a.com', '/api/v2/users', ''), 'api-v2');
  assert.equal(router.lookup('a.com', '/api/v1', ''), 'api');
  assert.equal(router.lookup('a.com', '/apix', ''), 'api', 'plain string prefix, as frp');
  assert.equal(router.lookup('a.com', '/static', ''), 'root');
  assert.equal(router.lookup('a.com', '/static/x.css', ''), 'static');
  assert.equal(router.lookup('a.com', '/', ''), 'root');
  const match = router.match('a.com', '/api/v2', '');
  assert.deepEqual(match, { domain: 'a.com', location: '/api/v2', routeByHTTPUser: '', name: 'api-v2', value: 'api-v2' });
});

test('route by HTTP user: the exact user first, then routes for any user, on each candidate domain', () => {
  const router = new VhostRouter<string>();
  router.add(route('a.example.com', 'alice-only', { routeByHTTPUser: 'alice' }));
  router.add(route('a.example.com', 'anyone-api', { location: '/api' }));
  router.add(route('*.example.com', 'bob-wild', { routeByHTTPUser: 'bob' }));
  assert.equal(router.lookup('a.example.com', '/api/x', 'alice'), 'alice-only', "the user's own route wins even with a shorter location");
  assert.equal(router.lookup('a.example.com', '/api/x', 'carol'), 'anyone-api');
  assert.equal(router.lookup('a.example.com', '/other', 'carol'), undefined);
  assert.equal(router.lookup('a.example.com', '/other', 'alice'), 'alice-only');
  assert.equal(router.lookup('a.example.com', '/api', ''), 'anyone-api');
  // The exact host has nothing for bob on /other, so the wildcard's bob route is next.
  assert.equal(router.lookup('a.example.com', '/other', 'bob'), 'bob-wild');
  assert.equal(router.lookup('a.example.com', '/api', 'bob'), 'anyone-api', 'exact host (any user) before the wildcard');
});

test('a duplicate (domain, location, user) is refused with a readable message; different users or locations coexist', () => {
  const router = new VhostRouter<string>();
  router.add(route('a.com', 'first', { location: '/x' }));
  router.add(route('a.com', 'other-user', { location: '/x', routeByHTTPUser: 'u' }));
  router.add(route('a.com', 'other-location', { location: '/y' }));
  assert.throws(
    () => router.add(route('A.COM', 'second', { location: '/x' })),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED') && /proxy \[second\].*a\.com.*\/x.*already used by proxy \[first\]/.test(err.message),
  );
  // A grouped proxy cannot take over an ungrouped route either.
  assert.throws(
    () => router.add(route('a.com', 'grouped', { location: '/x', group: 'g', groupKey: 'k' })),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED'),
  );
  assert.equal(router.lookup('a.com', '/x', ''), 'first');
});

test('groups: members of the same route rotate round-robin; wrong key, other group or repeated name refused', () => {
  const router = new VhostRouter<string>();
  router.add(route('web.example.com', 'web-1', { group: 'web', groupKey: 'secret' }));
  router.add(route('web.example.com', 'web-2', { group: 'web', groupKey: 'secret' }));
  router.add(route('web.example.com', 'web-3', { group: 'web', groupKey: 'secret' }));
  const picks = Array.from({ length: 6 }, () => router.lookup('web.example.com', '/', ''));
  assert.deepEqual(picks, ['web-1', 'web-2', 'web-3', 'web-1', 'web-2', 'web-3']);
  assert.equal(router.size, 1);

  assert.throws(
    () => router.add(route('web.example.com', 'intruder', { group: 'web', groupKey: 'guess' })),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED') && /group \[web\] auth failed/.test(err.message),
  );
  assert.throws(
    () => router.add(route('web.example.com', 'other', { group: 'other', groupKey: 'secret' })),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED') && /already used by group \[web\]/.test(err.message),
  );
  assert.throws(
    () => router.add(route('web.example.com', 'web-2', { group: 'web', groupKey: 'secret' })),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED'),
  );

  // Members leave; the route goes with the last one.
  assert.equal(router.remove({ domain: 'web.example.com', location: '', routeByHTTPUser: '', name: 'web-2' }), true);
  const after = new Set(Array.from({ length: 4 }, () => router.lookup('web.example.com', '/', '')));
  assert.deepEqual([...after].sort(), ['web-1', 'web-3']);
  assert.equal(router.remove({ domain: 'web.example.com', location: '', routeByHTTPUser: '', name: 'web-2' }), false);
  router.remove({ domain: 'WEB.example.com', location: '', routeByHTTPUser: '', name: 'web-1' });
  router.remove({ domain: 'web.example.com', location: '', routeByHTTPUser: '', name: 'web-3' });
  assert.equal(router.lookup('web.example.com', '/', ''), undefined);
  assert.equal(router.size, 0);
  // Once gone, anyone may register it again, with any key.
  router.add(route('web.example.com', 'new', { group: 'web', groupKey: 'new-key' }));
  assert.equal(router.lookup('web.example.com', '/', ''), 'new');
});

test('remove only touches the named proxy and route', () => {
  const router = new VhostRouter<string>();
  router.add(route('a.com', 'root'));
  router.add(route('a.com', 'api', { location: '/api' }));
  assert.equal(router.remove({ domain: 'a.com', location: '/api', routeByHTTPUser: '', name: 'someone-else' }), false);
  assert.equal(router.remove({ domain: 'a.com', location: '/api', routeByHTTPUser: '', name: 'api' }), true);
  assert.equal(router.lookup('a.com', '/api/x', ''), 'root');
  assert.equal(router.remove({ domain: 'b.com', location: '', routeByHTTPUser: '', name: 'root' }), false);
});

test('proxy domains: custom domains plus subdomain.subDomainHost, lower-cased, de-duplicated', () => {
  assert.deepEqual(proxyDomains({ customDomains: ['Web.Example.org', '*.apps.example.org', '*', 'web.example.org'], subdomain: 'Dev' }, 'tunnel.example.com'), [
    'web.example.org',
    '*.apps.example.org',
    '*',
    'dev.tunnel.example.com',
  ]);
  assert.deepEqual(proxyDomains({ subdomain: 'x' }, 'Tunnel.Example.com'), ['x.tunnel.example.com']);
  assert.deepEqual(proxyDomains({ customDomains: ['tunnel.example.com'] }, 'tunnel.example.com'), ['tunnel.example.com'], 'the host itself is allowed');
});

test('proxy domains: frp refusal rules, as readable errors', () => {
  const refused = (settings: Parameters<typeof proxyDomains>[0], host: string, pattern: RegExp): void => {
    assert.throws(
      () => proxyDomains(settings, host),
      (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED') && pattern.test(err.message),
    );
  };
  refused({ subdomain: 'dev' }, '', /subdomain is not supported.*subDomainHost is not set/);
  refused({ subdomain: 'a.b' }, 'example.com', /'\.' and '\*' are not supported in subdomain/);
  refused({ subdomain: '*' }, 'example.com', /'\.' and '\*' are not supported in subdomain/);
  refused(
    { customDomains: ['App.Tunnel.example.com'] },
    'tunnel.example.com',
    /custom domain \[App\.Tunnel\.example\.com\] should not belong to subdomain host \[tunnel\.example\.com\]/,
  );
  refused({ customDomains: ['*.tunnel.example.com'] }, 'tunnel.example.com', /should not belong to subdomain host/);
  refused({ customDomains: [] }, 'example.com', /should not be both empty/);
  refused({ customDomains: [''] }, 'example.com', /must not be empty/);
  refused({ customDomains: ['bad domain.com'] }, 'example.com', /not a valid domain/);
  refused({ customDomains: ['a.*.com'] }, 'example.com', /not a valid domain/);
});

test('one domain holds a bounded number of routes; the refusal names the domain and the bound, other domains are unaffected', () => {
  const router = new VhostRouter<number>();
  for (let i = 0; i < MAX_ROUTES_PER_DOMAIN; i++)
    router.add({ domain: 'busy.example', location: `/p${i}`, routeByHTTPUser: i % 2 ? 'u' : '', name: `p${i}`, value: i });
  assert.throws(
    () => router.add({ domain: 'busy.example', location: '/one-more', routeByHTTPUser: '', name: 'extra', value: -1 }),
    (err: unknown) => isBurrowError(err, 'BURROW_PROXY_REJECTED') && /domain \[busy\.example\] already has 1024 routes/.test(err.message),
  );
  router.add({ domain: 'quiet.example', location: '', routeByHTTPUser: '', name: 'q', value: 7 });
  assert.equal(router.lookup('quiet.example', '/', ''), 7);
  assert.equal(router.lookup('busy.example', '/p10/x', ''), 10);
  // A removed route frees its place.
  assert.equal(router.remove({ domain: 'busy.example', location: '/p0', routeByHTTPUser: '', name: 'p0' }), true);
  router.add({ domain: 'busy.example', location: '/one-more', routeByHTTPUser: '', name: 'extra', value: -1 });
  assert.equal(router.lookup('busy.example', '/one-more', ''), -1);
});
