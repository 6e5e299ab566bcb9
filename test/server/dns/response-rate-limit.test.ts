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

test('past its bound the table forgets the least recently seen sources, never the busy victim', () => {
  const limit = new ResponseRateLimit(2, () => 0, 1_000);
  limit.allow('victim');
  limit.allow('victim'); // its bucket is empty now

  // A spoofed flood from 100,000 other sources, with the victim's queries going on among them.
  const victimAnswered: boolean[] = [];
  for (let i = 0; i < 100_000; i++) {
    limit.allow(`spoofed-${i}`);
    if (i % 500 === 0) victimAnswered.push(limit.allow('victim'));
  }
  const oldSpoofedAgain = limit.allow('spoofed-0');

  assert.deepEqual(new Set(victimAnswered), new Set([false]), 'the victim stays limited: its bucket was never reset');
  assert.equal(oldSpoofedAgain, true, 'a source not seen for long was forgotten (a fresh bucket)');
});
