import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retriable, retryAfterMs, retryDelayMs, statusFailure } from '../../../clients/proxy/retry-rules.js';

describe('retry rules', () => {
  it('a 503 is a gateway error, retried under gateway-error or 5xx only', () => {
    const failure = statusFailure(503)!;

    assert.equal(retriable(failure, new Set(['gateway-error'])), true);
    assert.equal(retriable(failure, new Set(['5xx'])), true);
    assert.equal(retriable(failure, new Set(['connect-failure', 'reset', 'retriable-4xx'])), false);
  });

  it('a 500 is retried under 5xx, not gateway-error; a 409 only under retriable-4xx; a 404 never', () => {
    assert.equal(retriable(statusFailure(500)!, new Set(['gateway-error'])), false);
    assert.equal(retriable(statusFailure(500)!, new Set(['5xx'])), true);
    assert.equal(retriable(statusFailure(409)!, new Set(['5xx', 'gateway-error'])), false);
    assert.equal(retriable(statusFailure(409)!, new Set(['retriable-4xx'])), true);
    assert.equal(statusFailure(404), undefined);
  });

  it('a refused connection is retried under connect-failure, a reset under reset, not the other way round', () => {
    assert.equal(retriable('connect-failure', new Set(['connect-failure'])), true);
    assert.equal(retriable('connect-failure', new Set(['reset'])), false);
    assert.equal(retriable('reset', new Set(['reset'])), true);
    assert.equal(retriable('reset', new Set(['connect-failure'])), false);
  });

  it('Retry-After in seconds or as an HTTP date; unreadable or past values ask nothing', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);

    assert.equal(retryAfterMs('2', now), 2000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 12:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 11:00:00 GMT', now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('999999', now), 300_000, 'capped');
  });

  it('back-off is full jitter under a ceiling that doubles per retry up to max', () => {
    const backoff = { baseMs: 25, maxMs: 250 };

    assert.deepEqual([1, 2, 3, 4, 5, 6].map((retry) => retryDelayMs(retry, backoff, () => 0.999999)).map(Math.round), [25, 50, 100, 200, 250, 250]);
    assert.equal(retryDelayMs(3, backoff, () => 0), 0);
    assert.equal(retryDelayMs(3, backoff, () => 0.5), 50);
  });
});
