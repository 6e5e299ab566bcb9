import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendHandler } from '../../support/backends.js';
import { harnessPerTest } from '../../support/forwarder-harness.js';

const start = harnessPerTest();

function answering(status: number): BackendHandler {
  return (_request, response) => {
    response.writeHead(status);
    response.end(String(status));
  };
}

async function send(url: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}/`);
    await response.text();
    statuses.push(response.status);
  }
  return statuses;
}

describe('HttpForwarder outlier detection (driven through real sockets)', () => {
  it('consecutive gateway errors eject an instance at their own threshold, below the failure threshold', async () => {
    const harness = await start([answering(502), answering(200)], {
      poolFollowsPolicy: true,
      policy: (policy) => {
        policy.retries.count = 0;
        policy.outlier = { consecutiveFailures: 100, consecutiveGatewayErrors: 2, baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 60_000, maxEjection: 0.5 };
      },
    });

    await send(harness.url, 4);
    const after = await send(harness.url, 4);
    const breaker = harness.pool.members[0]!.breaker;

    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tripCause, 'consecutive-gateway-errors');
    assert.deepEqual(after, [200, 200, 200, 200]);
    assert.equal(harness.backends[0]!.hits, 2);
  });

  it('500s are failures but not gateway errors: they eject only at the failure threshold', async () => {
    const harness = await start([answering(500), answering(200)], {
      poolFollowsPolicy: true,
      policy: (policy) => {
        policy.retries.count = 0;
        policy.outlier = { consecutiveFailures: 3, consecutiveGatewayErrors: 1, baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 60_000, maxEjection: 0.5 };
      },
    });

    await send(harness.url, 4);
    const afterTwo = harness.pool.members[0]!.breaker.state;
    await send(harness.url, 2);

    assert.equal(afterTwo, 'closed');
    assert.equal(harness.pool.members[0]!.breaker.state, 'open');
    assert.equal(harness.pool.members[0]!.breaker.tripCause, 'consecutive-failures');
  });

  it('max ejection comes from the policy in force: with 0%, one instance may still be ejected, the second stays', async () => {
    const harness = await start([answering(503), answering(503)], {
      poolFollowsPolicy: true,
      policy: (policy) => {
        policy.retries.count = 0;
        policy.panicThreshold = 0;
        policy.outlier = { consecutiveFailures: 1, consecutiveGatewayErrors: 1, baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 60_000, maxEjection: 0 };
      },
    });

    await send(harness.url, 4);

    assert.equal(harness.pool.ejected, 1);
  });
});
