import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendHandler } from '../../support/backends.js';
import { type HarnessOptions, harnessPerTest, metricValue } from '../../support/forwarder-harness.js';

const harness = harnessPerTest();

const ok: BackendHandler = (_request, response, backend) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ backend: backend.name }));
};
const overloaded: BackendHandler = (request, response) => {
  request.resume();
  response.writeHead(503, { 'content-type': 'text/plain' });
  response.end('overloaded');
};
/** A slow 503, as an overloaded instance answers: requests pile up in flight, as in a real brown-out. */
const slowlyOverloaded: BackendHandler = (request, response) => {
  request.resume();
  setTimeout(() => {
    response.writeHead(503, { 'content-type': 'text/plain' });
    response.end('overloaded');
  }, 20);
};
function askingToWait(seconds: number): BackendHandler {
  return (request, response) => {
    request.resume();
    response.writeHead(503, { 'retry-after': String(seconds), 'x-detail': 'draining', 'content-type': 'text/plain' });
    response.end('busy, come back later');
  };
}

/** Breakers that never trip: what is measured is retries alone. */
const noEjection: HarnessOptions['pool'] = { breaker: { consecutiveFailures: 1000, openTime: { baseMs: 1000, maxMs: 1000, jitter: 0 }, halfOpenProbes: 1 } };

describe('HttpForwarder retries', () => {
  it('brown-out: with every instance answering 503, the retry budget bounds what the instances receive', async () => {
    const { url, backends, metrics } = await harness([slowlyOverloaded, slowlyOverloaded, slowlyOverloaded], {
      pool: noEjection,
      policy: (policy) => {
        policy.retries = { count: 2, on: new Set(['5xx']), budget: 0.2, backoff: { baseMs: 1, maxMs: 5 } };
      },
    });
    const offered = 500;
    const concurrency = 50;

    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < offered) {
          next += 1;
          const response = await fetch(`${url}/`);
          await response.text();
          statuses.push(response.status);
        }
      }),
    );
    const received = backends.reduce((sum, backend) => sum + backend.hits, 0);

    assert.equal(statuses.length, offered);
    assert.ok(statuses.every((status) => status === 503));
    // Without the budget, 2 retries each would make it 3 × 500 = 1500.
    // The constant: as the load drains at the end, the floor of 3 retries in flight outweighs
    // the 20% of what is left.
    assert.ok(received <= offered * 1.2 + concurrency / 2, `instances received ${received} requests for ${offered} offered`);
    assert.ok((await metricValue(metrics, 'beacon_proxy_retry_budget_exhausted_total')) > 0);
  });

  it('an instance that answered 503 with Retry-After is skipped right after; the request is retried elsewhere', async () => {
    const { url, backends, metrics } = await harness([askingToWait(2), ok], { pool: noEjection });

    const first = await fetch(`${url}/`);
    const firstBody = (await first.json()) as { backend: string };
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push(((await (await fetch(`${url}/`)).json()) as { backend: string }).backend);

    assert.equal(first.status, 200);
    assert.equal(firstBody.backend, 'b1');
    assert.deepEqual(after, ['b1', 'b1', 'b1', 'b1']);
    assert.equal(backends[0]!.hits, 1);
    assert.equal(await metricValue(metrics, 'beacon_proxy_retries_total{reason="gateway-status"}'), 1);
  });

  it('the held-back 5xx reaches the client as the instance sent it when the other instances are ejected', async () => {
    const { url, pool } = await harness([askingToWait(7), ok, ok], {
      pool: { breaker: { consecutiveFailures: 1, openTime: { baseMs: 60_000, maxMs: 60_000, jitter: 0 }, halfOpenProbes: 1 }, maxEjectedShare: 1, panicThreshold: 0 },
    });
    for (const upstream of pool.members.slice(1)) {
      const pick = pool.choose(pool.members.filter((other) => other !== upstream))!;
      pool.release(pick, 'failure');
    }
    assert.equal(pool.ejected, 2);

    const response = await fetch(`${url}/`);

    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '7');
    assert.equal(response.headers.get('x-detail'), 'draining');
    assert.equal(response.headers.get('x-beacon-proxy'), null);
    assert.equal(await response.text(), 'busy, come back later');
  });

  it('a class the policy does not list is not retried', async () => {
    const { url, backends } = await harness([overloaded, ok], {
      pool: noEjection,
      policy: (policy) => {
        policy.retries.on = new Set(['connect-failure', 'reset']);
      },
    });

    const response = await fetch(`${url}/`);

    assert.equal(response.status, 503);
    assert.equal(await response.text(), 'overloaded');
    assert.equal(backends[1]!.hits, 0);
  });

  it('a 409 is retried only under retriable-4xx', async () => {
    const conflict: BackendHandler = (_request, response) => {
      response.writeHead(409);
      response.end('version conflict');
    };
    const { url } = await harness([conflict, ok], {
      pool: noEjection,
      policy: (policy) => {
        policy.retries.on = new Set(['retriable-4xx']);
      },
    });

    const response = await fetch(`${url}/`);

    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { backend: string }).backend, 'b1');
  });
});
