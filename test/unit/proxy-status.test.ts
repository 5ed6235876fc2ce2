import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyRetry, RetryState } from '../../src/client/proxy-status.js';

test('proxy retry: an unanswered registration goes again; refusals back off up to the cap', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    let fired = 0;
    const retry = new ProxyRetry({ firstMs: 1000, maxMs: 4000, answerMs: 20_000 }, () => (fired += 1));
    retry.sent();
    assert.equal(retry.state, RetryState.AwaitingAnswer);
    mock.timers.tick(19_999);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1, 'no answer in time: sent again');

    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const at = retry.refused();
      waits.push(at - Date.now());
      assert.equal(retry.state, RetryState.Waiting);
      mock.timers.tick(at - Date.now());
    }
    assert.equal(fired, 5);
    // 1 s doubling to 4 s, each with up to a fifth more at random.
    for (const [i, base] of [1000, 2000, 4000, 4000].entries()) assert.ok(waits[i]! >= base && waits[i]! <= base * 1.2, `wait ${i}: ${waits[i]}`);

    retry.reset();
    const again = retry.refused() - Date.now();
    assert.ok(again >= 1000 && again <= 1200, 'after a success the schedule starts over');
    retry.cancel();
    mock.timers.tick(10_000);
    assert.equal(fired, 5, 'a cancelled retry never fires');
    assert.equal(retry.state, RetryState.Idle);
  } finally {
    mock.timers.reset();
  }
});
