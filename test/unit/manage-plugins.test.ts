import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServerConfig } from '../../src/config/load.js';
import { parseAnswer } from '../../src/server/manage-plugins/http-plugin.js';
import { isBurrowError } from '../../src/util/errors.js';
import { problems } from '../helpers/config.js';

describe('server plugin answers', () => {
  test('keys match ignoring case and nulls read as absent, as Go decodes them', () => {
    assert.deepEqual(parseAnswer('{"Reject":true,"REJECT_REASON":"no","unchange":null}'), {
      reject: true,
      rejectReason: 'no',
      unchange: false,
      content: undefined,
    });
    assert.deepEqual(parseAnswer('{"unchange":false,"content":{"remote_port":7000}}').content, { remote_port: 7000 });
  });

  test('a wrongly typed field, a non-object or broken JSON is a plugin failure', () => {
    for (const text of ['{"reject":"yes"}', '{"reject_reason":5}', '[]', 'null', '{"reject":']) {
      assert.throws(
        () => parseAnswer(text),
        (err: unknown) => isBurrowError(err, 'BURROW_PLUGIN_FAILED'),
        text,
      );
    }
  });
});

describe('httpPlugins config', () => {
  const plugin = { name: 'p', addr: '127.0.0.1:9000', path: '/handler', ops: ['Login'] };

  test('a plugin loads, with or without a scheme, tlsVerify off unless set (as frp)', () => {
    const cfg = buildServerConfig({ httpPlugins: [plugin, { ...plugin, name: 'q', addr: 'https://127.0.0.1:9443', tlsVerify: true }] });
    assert.deepEqual(
      cfg.httpPlugins.map((p) => [p.name, p.tlsVerify]),
      [
        ['p', false],
        ['q', true],
      ],
    );
  });

  test('an address that makes no URL, an unknown op and a duplicate name are refused, naming the key', () => {
    assert.match(problems(() => buildServerConfig({ httpPlugins: [{ ...plugin, addr: 'bad host:1' }] })).join('\n'), /httpPlugins\[0\]\.addr/);
    assert.match(problems(() => buildServerConfig({ httpPlugins: [{ ...plugin, ops: ['Logout'] }] })).join('\n'), /httpPlugins\[0\]\.ops/);
    assert.match(problems(() => buildServerConfig({ httpPlugins: [plugin, plugin] })).join('\n'), /httpPlugins\[1\]\.name.*duplicate/);
  });
});
