import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acmeNameMatcher } from '../../src/acme/names.js';
import { AcmeStorage } from '../../src/acme/storage.js';
import { ChallengeResponders } from '../../src/acme/challenges.js';
import { ConfigError, buildServerConfig } from '../../src/config/load.js';

test('acme.domains: exact names and one-label globs only; anything else never matches', () => {
  const m = acmeNameMatcher(['shop.test', '*.apps.example.com']);
  assert.equal(m('shop.test'), true);
  assert.equal(m('SHOP.test'), true);
  assert.equal(m('a.apps.example.com'), true);
  assert.equal(m('a.b.apps.example.com'), false, 'a glob covers one label, as a wildcard certificate');
  assert.equal(m('apps.example.com'), false);
  assert.equal(m('other.test'), false);
  assert.equal(m('*.apps.example.com'), false, 'a wildcard route needs DNS-01');
  assert.equal(m('../shop.test'), false);
});

test('storage: 0600 files in a 0700 folder, written whole, read back', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'burrow-acme-unit-')), 'store');
  const s = new AcmeStorage(dir);
  assert.equal(s.certificate('shop.test'), undefined);
  s.saveCertificate('shop.test', { chain: 'CHAIN', key: 'KEY' });
  s.saveCertificate('shop.test', { chain: 'CHAIN2', key: 'KEY2' });
  assert.deepEqual(s.certificate('shop.test'), { chain: 'CHAIN2', key: 'KEY2' });
  s.saveAccountKey('https://ca.example/dir', 'ACCOUNT');
  assert.equal(s.accountKey('https://ca.example/dir'), 'ACCOUNT');
  assert.equal(s.accountKey('https://other.example/dir'), undefined, 'one account per directory');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of readdirSync(join(dir, 'certs'))) assert.equal(statSync(join(dir, 'certs', f)).mode & 0o777, 0o600, f);
  assert.deepEqual(readdirSync(join(dir, 'certs')).sort(), ['shop.test.crt', 'shop.test.key'], 'no temporary file left');
  assert.throws(() => s.certificate('../x'), { code: 'BURROW_ACME_FAILED' });
});

test('challenge responders: an HTTP-01 token only under its path, only while set', () => {
  const r = new ChallengeResponders();
  const remove = r.setHttp01('tok', 'tok.thumb');
  assert.equal(r.http01Answer('/.well-known/acme-challenge/tok'), 'tok.thumb');
  assert.equal(r.http01Answer('/tok'), undefined);
  remove();
  assert.equal(r.http01Answer('/.well-known/acme-challenge/tok'), undefined);
});

test('acme config: refused with the key named when it cannot work', () => {
  const errorsOf = (raw: Record<string, unknown>): string => {
    try {
      buildServerConfig({ bindPort: 7000, ...raw });
      return '';
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
  };
  assert.match(errorsOf({ vhostHTTPPort: 80, acme: { domains: ['shop.test'] } }), /acme\.domains.*vhostHTTPSPort/);
  assert.match(errorsOf({ vhostHTTPSPort: 443, acme: { domains: ['shop.test'] } }), /acme\.domains.*vhostHTTPPort/);
  assert.match(errorsOf({ vhostHTTPSPort: 443, acme: { domains: ['a.*.test'] } }), /acme\.domains\[0\]/);
  assert.match(errorsOf({ vhostHTTPSPort: 443, acme: { domains: ['shop.test'], dns01Hook: './hook.sh' } }), /acme\.dns01Hook/);
  assert.match(errorsOf({ vhostHTTPSPort: 443, acme: { domains: ['shop.test'], challenges: ['dns-01'] } }), /acme\.challenges/);
  assert.equal(errorsOf({ vhostHTTPPort: 80, vhostHTTPSPort: 443, acme: { domains: ['shop.test', '*.apps.test'], email: 'ops@shop.test' } }), '');
  assert.equal(errorsOf({}), '', 'off by default');
});
