import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseRateLimit } from '../../../server/dns/response-rate-limit.js';

test('each source gets its own bucket of answers a second, refilled as time passes', () => {
  let now = 0;
  const limit = new ResponseRateLimit(3, () => now);

  const burst = Array.from({ length: 5 }, () => limit.allow('10.0.0.1'));
  const other = limit.allow('10.0.0.2');
  now += 500; // half a second: 1.5 answers back
  const afterHalf = [limit.allow('10.0.0.1'), limit.allow('10.0.0.1')];
  now += 10_000;
  const afterLong = Array.from({ length: 4 }, () => limit.allow('10.0.0.1'));

  assert.deepEqual(burst, [true, true, true, false, false]);
  assert.equal(other, true);
  assert.deepEqual(afterHalf, [true, false]);
  assert.deepEqual(afterLong, [true, true, true, false], 'a bucket never holds more than one second of answers');
});

test('the table of sources is bounded: past it, it starts afresh', () => {
  const limit = new ResponseRateLimit(1, () => 0, 2);
  limit.allow('a');
  limit.allow('b');

  limit.allow('c'); // clears the table
  const again = limit.allow('a');

  assert.equal(again, true);
});
