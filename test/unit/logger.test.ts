import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, MAX_LOGGED_VALUE_CHARS } from '../../src/util/logger.js';

/** Every character a terminal or a line-based log reader treats as control: C0, DEL, C1, and the Unicode line separators. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const forged = 'GET /\r\n2026-01-01T00:00:00.000Z INFO  login ok user=admin\x1b[2J\x9b31m\x85\u2028\x00\x7f';

function capture(format: 'text' | 'json'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'debug', format, write: (l) => lines.push(l) }) };
}

test("text lines: a peer's string cannot break the line or reach the terminal as a control character", () => {
  const { lines, log } = capture('text');
  log.info(`bad request ${forged}`, { host: forged, path: '/a\x1b]0;title\x07', plain: 'ok', n: 3 });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.doesNotMatch(line, CONTROL, JSON.stringify(line));
  assert.match(line, /bad request GET \/\\r\\n2026/, 'the message shows the escapes readably');
  assert.match(line, / plain=ok n=3$/);
  assert.match(line, / path="\/a\\u001b\]0;title\\u0007"/, 'a control character forces quoting even without whitespace');
  const hostValue = /host=("(?:[^"\\]|\\.)*")/.exec(line)![1]!;
  assert.equal(JSON.parse(hostValue), forged, 'quoted values decode back to exactly what was logged');
});

test('json lines: control characters (C1 and line separators too) are \\u-escaped and decode back', () => {
  const { lines, log } = capture('json');
  log.warn(forged, { host: forged });
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, CONTROL);
  const v = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(v.msg, forged);
  assert.equal(v.host, forged);
});

test('a huge value is clipped with a count of what was left out, so one peer cannot flood the log', () => {
  const { lines, log } = capture('json');
  log.info('big', { header: 'x'.repeat(100_000) });
  const v = JSON.parse(lines[0]!) as { header: string };
  assert.ok(v.header.length < MAX_LOGGED_VALUE_CHARS + 40);
  assert.match(v.header, new RegExp(`…\\(${100_000 - MAX_LOGGED_VALUE_CHARS} more\\)$`));
  const text = capture('text');
  text.log.info('x'.repeat(100_000));
  assert.ok(text.lines[0]!.length < 4 * MAX_LOGGED_VALUE_CHARS + 100);
});
