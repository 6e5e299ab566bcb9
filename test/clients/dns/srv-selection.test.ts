import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pickByPriorityAndWeight } from '../../../clients/dns/srv-selection.js';

const target = (name: string, priority: number, weight: number) => ({ name, priority, weight });

/** Runs `picks` draws with an even spread of random numbers and counts the names chosen. */
function tally(targets: ReturnType<typeof target>[], picks = 1_000): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const chosen = pickByPriorityAndWeight(targets, () => (i + 0.5) / picks);
    counts[chosen.name] = (counts[chosen.name] ?? 0) + 1;
  }
  return counts;
}

describe('RFC 2782 target selection', () => {
  test('only the lowest priority is eligible, however heavy the others are', () => {
    assert.deepEqual(tally([target('backup', 2, 65_535), target('primary', 1, 1)]), { primary: 1_000 });
  });

  test('within a priority, each target is chosen in proportion to its weight', () => {
    assert.deepEqual(tally([target('a', 1, 1), target('b', 1, 3)]), { a: 250, b: 750 });
  });

  test('weight 0 is chosen only when nothing heavier is there', () => {
    assert.deepEqual(tally([target('zero', 1, 0), target('one', 1, 1)]), { one: 1_000 });
    assert.equal(Object.keys(tally([target('zero-a', 1, 0), target('zero-b', 1, 0)])).length, 2);
  });

  test('nothing to pick from is a RangeError', () => {
    assert.throws(() => pickByPriorityAndWeight([]), RangeError);
  });
});
