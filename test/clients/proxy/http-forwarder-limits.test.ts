import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { EffectivePolicy } from '../../../clients/policy/effective-policy.js';
import type { BackendHandler } from '../../support/backends.js';
import { waitFor, within } from '../../support/events.js';
import { harnessPerTest, metricValue } from '../../support/forwarder-harness.js';

const held: ServerResponse[] = [];
afterEach(() => {
  for (const response of held.splice(0)) response.end('late');
});
const harness = harnessPerTest();

/** Keeps every request waiting until the test's cleanup answers it. */
const holding: BackendHandler = (_request, response) => {
  held.push(response);
};

describe('HttpForwarder limits', () => {
  it('past an instance’s connections and pending requests, the proxy answers 503 overflow itself', async () => {
    const { url, backends, metrics } = await harness([holding], {
      policy: (policy) => {
        policy.retries.count = 0;
        policy.limits = { maxConnections: 1, maxPendingRequests: 1 };
      },
    });
    const first = fetch(`${url}/one`);
    const second = fetch(`${url}/two`);
    await waitFor(() => backends[0]!.hits === 1);

    const third = await fetch(`${url}/three`);
    const body = (await third.json()) as { statusCode: number; message: string };
    held.shift()!.end('done');
    await waitFor(() => held.length === 1, { what: 'the waiting request reaching the instance' });
    held.shift()!.end('done');
    const answered = await Promise.all([first, second].map((pending) => pending.then((response) => response.text())));

    assert.equal(third.status, 503);
    assert.equal(third.headers.get('x-beacon-proxy'), 'overflow');
    assert.match(body.message, /has 1 requests waiting for a connection/);
    assert.deepEqual(answered, ['done', 'done'], 'the one waiting for the connection got it in turn');
    assert.equal(backends[0]!.hits, 2);
    assert.equal(await metricValue(metrics, 'beacon_proxy_overflow_total'), 1);
  });

  it('a policy change to maxConnections applies to the next request; requests waiting in the old pool still get answered', async () => {
    const paths: string[] = [];
    const noting: BackendHandler = (request, response) => {
      paths.push(request.url!);
      held.push(response);
    };
    let live!: EffectivePolicy;
    const { url } = await harness([noting], {
      policy: (policy) => {
        live = policy;
        policy.retries.count = 0;
        policy.limits = { maxConnections: 1, maxPendingRequests: 10 };
      },
    });
    const first = fetch(`${url}/one`);
    const second = fetch(`${url}/two`);
    await waitFor(() => paths.length === 1);

    live.limits = { maxConnections: 2, maxPendingRequests: 10 };
    const third = fetch(`${url}/three`);
    await waitFor(() => paths.length === 2, { what: 'the third request on a connection of the new pool' });
    assert.deepEqual(paths, ['/one', '/three'], 'the second still waits for the old pool’s one connection');
    held.shift()!.end('done');
    await waitFor(() => paths.length === 3, { what: 'the second request on the old pool' });
    for (const response of held.splice(0)) response.end('done');
    const answered = await Promise.all([first, second, third].map((pending) => pending.then((response) => response.text())));

    assert.deepEqual(answered, ['done', 'done', 'done']);
  });

  it('the timeout bounds the whole request, over all tries: 504 timeout, though each try had longer', async () => {
    const { url } = await harness([holding, holding], {
      policy: (policy) => {
        policy.timeoutMs = 300;
        policy.tryTimeoutMs = 5000;
      },
    });
    const started = performance.now();

    const response = await within(fetch(`${url}/`), 4000, 'an answer before the per-try timeout');
    const body = (await response.json()) as { message: string };

    assert.equal(response.status, 504);
    assert.equal(response.headers.get('x-beacon-proxy'), 'timeout');
    assert.match(body.message, /no instance of "web" answered within 300 ms/);
    assert.ok(performance.now() - started < 4000);
  });

  it('a client that goes away cancels the request to the instance: the instance sees it aborted', async () => {
    let sawAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (sawAbort = resolve));
    const noticing: BackendHandler = (request, response) => {
      held.push(response);
      request.socket.once('close', () => sawAbort());
    };
    const { url, backends, pool } = await harness([noticing]);
    const leaving = new AbortController();
    const pending = fetch(`${url}/slow`, { signal: leaving.signal }).catch((error: Error) => error.name);
    await waitFor(() => backends[0]!.hits === 1);

    leaving.abort();

    await within(aborted, 5000, 'the instance seeing the request aborted');
    assert.equal(await pending, 'AbortError');
    await waitFor(() => pool.members[0]!.active === 0, { what: 'the try released' });
    assert.equal(pool.members[0]!.breaker.state, 'closed', 'a client leaving says nothing about the instance');
  });
});
