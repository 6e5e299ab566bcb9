import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_RETRY_CONCURRENCY, RetryBudget } from '../../../clients/proxy/retry-budget.js';

function budgetWith(requests: number): RetryBudget {
  const budget = new RetryBudget();
  for (let i = 0; i < requests; i++) budget.started();
  return budget;
}

function acquired(budget: RetryBudget, share: number, asks: number): number {
  let granted = 0;
  for (let i = 0; i < asks; i++) if (budget.acquire(share)) granted += 1;
  return granted;
}

describe('RetryBudget', () => {
  it('allows retries in flight up to the budget share of the requests in flight that are not retrying', () => {
    const budget = budgetWith(120);

    assert.equal(acquired(budget, 0.2, 50), 20, '20 retrying, 100 not: 20 ≤ 0.2 × 100');
    assert.equal(budget.retriesInFlight, 20);
  });

  it('always allows three retries in flight, however few requests there are', () => {
    assert.equal(acquired(budgetWith(1), 0.2, 10), MIN_RETRY_CONCURRENCY);
    assert.equal(acquired(budgetWith(5), 0, 10), MIN_RETRY_CONCURRENCY);
  });

  it('a released retry frees its place', () => {
    const budget = budgetWith(10);
    acquired(budget, 0.2, 3);
    budget.started();

    budget.release();

    assert.equal(budget.acquire(0.2), true);
    assert.equal(budget.acquire(0.2), false);
  });

  it('requests that end shrink the budget', () => {
    const budget = budgetWith(60);
    assert.equal(acquired(budget, 0.2, 20), 10);
    for (let i = 0; i < 40; i++) budget.ended();
    budget.release();

    assert.equal(budget.requestsInFlight, 20);
    assert.equal(budget.acquire(0.2), false, '9 retries in flight is over max(3, 0.2 × 11)');
  });
});
