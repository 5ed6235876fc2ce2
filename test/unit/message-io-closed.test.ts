import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readOneMessage } from '../../src/control/message-io.js';

// A work connection whose session closed while it was still being set up (an SSH tunnel refused at
// registration): the read began after the stream's last event, and waited out its day-long limit.
test('a read that begins on a stream already closed fails at once instead of waiting out its timeout', async () => {
  const destroyed = new PassThrough();
  destroyed.destroy();
  await assert.rejects(readOneMessage(destroyed, 86_400_000, 'StartWorkConn'), { code: 'BURROW_CLOSED' });

  const ended = new PassThrough();
  ended.end();
  ended.resume();
  await new Promise((resolve) => ended.once('end', resolve));
  ended.pause();
  await assert.rejects(readOneMessage(ended, 86_400_000, 'StartWorkConn'), { code: 'BURROW_CLOSED' });
});
