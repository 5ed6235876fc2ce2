/** Properties of the logger's escaping: a peer's string never breaks a line or reaches a terminal raw. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_LOGGED_VALUE_CHARS, createLogger } from '../../src/util/logger.js';
import { target, textWith, type FuzzTarget } from './harness.js';

const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const peerString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  textWith(['\r', '\n', '\x1b[', '\x9b', '\x85', '\u2028', '"', '\\', ' ', '=', 'level=error'], 60),
);

export const logTargets: FuzzTarget[] = [
  target('util/logger: any message and field values give one inert line; JSON lines decode back to them', () =>
    fc.property(
      peerString,
      fc.dictionary(
        fc.stringMatching(/^[a-z]{1,6}$/).filter((k) => !['time', 'level', 'msg'].includes(k)),
        peerString,
        { maxKeys: 3 },
      ),
      (msg, fields) => {
        const text: string[] = [];
        const json: string[] = [];
        createLogger({ format: 'text', write: (l) => text.push(l) }).info(msg, fields);
        createLogger({ format: 'json', write: (l) => json.push(l) }).info(msg, fields);
        assert.equal(text.length, 1);
        assert.doesNotMatch(text[0]!, CONTROL);
        assert.doesNotMatch(json[0]!, CONTROL);
        const back = JSON.parse(json[0]!) as Record<string, unknown>;
        assert.equal(back.msg, msg);
        for (const [k, v] of Object.entries(fields)) if (v.length <= MAX_LOGGED_VALUE_CHARS) assert.equal(back[k], v);
      },
    ),
  ),
];
