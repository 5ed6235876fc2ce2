import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStructured } from '../../src/config/sources.js';

// Found by fuzzing (test/fuzz/config.fuzz.ts): the JSON parser's message quotes the input, newlines and all.
test('a JSON syntax error is one problem line, even when the text it quotes spans lines', () => {
  for (const text of ['[a]\n', '{\n  "serverPort": 7000,\n  oops\n}\n', '\r\n\u2028{']) {
    const r = parseStructured(text, 'json');
    assert.equal(r.value, undefined);
    assert.match(r.problem ?? '', /^cannot parse JSON: /);
    assert.doesNotMatch(r.problem!, /[\r\n\u2028\u2029]/, JSON.stringify(r.problem));
  }
});
