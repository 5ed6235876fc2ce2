import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalLog } from '../../src/util/refusal-log.js';
import { clipped, shortRunId } from '../../src/util/peer-string.js';
import { createLogger } from '../../src/util/logger.js';

function capture(): { lines: { level: string; msg: string; remote?: string }[]; log: RefusalLog } {
  const lines: { level: string; msg: string; remote?: string }[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l) as { level: string; msg: string }) });
  return { lines, log: new RefusalLog(logger, 60_000) };
}

describe('RefusalLog: pre-auth refusals at debug, warnings summed per interval', () => {
  test('the first refusal of a reason warns at once, the rest are one count per interval', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { lines, log } = capture();
      log.refused('login timeout', '10.0.0.1');
      for (let i = 0; i < 11; i++) log.refused('login timeout', `10.0.0.${1 + (i % 3)}`);
      log.refused('other', '10.0.0.9');
      assert.equal(lines.filter((l) => l.level === 'debug').length, 13, 'each one at debug');
      assert.deepEqual(
        lines.filter((l) => l.level === 'warn').map((l) => l.msg),
        ['connection refused: login timeout', 'connection refused: other'],
      );
      mock.timers.tick(60_000);
      const warns = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
      assert.deepEqual(warns.slice(2), ['11 connections refused in the last 60 s: login timeout (from 3 addresses)']);
      // A quiet interval ends the summary; the next refusal warns at once again.
      mock.timers.tick(60_000);
      mock.timers.tick(60_000);
      log.refused('login timeout', '10.0.0.5');
      assert.equal(lines.filter((l) => l.level === 'warn').at(-1)?.msg, 'connection refused: login timeout');
      log.close();
    } finally {
      mock.timers.reset();
    }
  });

  test('a flood gives a bounded number of warnings', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { lines, log } = capture();
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 10_000; i++) log.refused('closed before sending anything', `10.${round}.${i >> 8}.${i & 255}`);
        mock.timers.tick(60_000);
      }
      const warns = lines.filter((l) => l.level === 'warn');
      assert.equal(warns.length, 6, 'the first one, then one per interval');
      assert.match(warns[1]!.msg, /^9999 connections refused in the last 60 s: closed before sending anything \(from at least 1024 addresses\)$/);
      log.close();
    } finally {
      mock.timers.reset();
    }
  });

  test('past 64 distinct reasons, new ones are summed up under one, so they still warn', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { lines, log } = capture();
      for (let i = 0; i < 64; i++) log.refused(`reason ${i}`, '10.0.0.1');
      log.refused('login refused: token mismatch', '10.0.0.2');
      log.refused('yet another', '10.0.0.3');
      const warns = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
      assert.equal(warns.length, 65);
      assert.match(warns.at(-1)!, /^connection refused: other reasons/);
      assert.ok(
        lines.some((l) => l.level === 'debug' && l.msg === 'connection refused: login refused: token mismatch'),
        'the debug line keeps the real reason',
      );
      mock.timers.tick(60_000);
      assert.match(lines.at(-1)!.msg, /^1 connection refused in the last 60 s: other reasons/);
      log.close();
    } finally {
      mock.timers.reset();
    }
  });
});

describe('peer strings in log lines', () => {
  test('control characters, line separators and backslashes from a peer reach the log escaped, on one line', () => {
    const lines: string[] = [];
    const text = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const json = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
    for (const user of ['a\nINFO fake line', '\x1b[31mred\x00', 'x\u2028y\u0085', 'back\\slash']) {
      text.info('client logged in', { user: clipped(user) });
      json.info('client logged in', { user: clipped(user) });
    }
    for (const line of lines) assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029]/, line);
    assert.equal(lines.length, 8);
    assert.equal((JSON.parse(lines[1]!) as { user: string }).user, 'a\nINFO fake line', 'JSON lines decode back to what the peer sent');
    assert.equal(clipped('alice'), 'alice');
    assert.equal(clipped(undefined), '');
  });

  test('long values are cut with a count of what was left out', () => {
    assert.equal(clipped('a'.repeat(300)), `${'a'.repeat(256)}…(44 more)`);
  });

  test('run ids are shown by their first 8 characters', () => {
    assert.equal(shortRunId('0123456789abcdef'), '01234567…');
    assert.equal(shortRunId('short'), 'short');
  });
});
