import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseDemoServiceConfig } from '../../../clients/demo/demo-service-config.js';
import { type DemoAnswer, startDemoService } from '../../../clients/demo/demo-service.js';
import { suiteRegistry } from '../../support/suite-registry.js';

describe('beacon demo-service', () => {
  const registry = suiteRegistry();

  async function start(...argv: string[]) {
    const config = parseDemoServiceConfig(['--registry', registry.server.url, '--listen', '127.0.0.1:0', ...argv], {})!;
    return startDemoService(config, pino({ level: 'silent' }));
  }

  it('registers itself at the port it listens on, with its weight and tags, and answers who it is', async (t) => {
    const service = await start('--service', 'shop', '--id', 'shop-1', '--weight', '3', '--tag', 'blue');
    t.after(() => service.close());
    await service.registered;

    const [instance] = (await registry.api.instances('shop')).body;
    const answer = (await (await fetch(`http://127.0.0.1:${service.address.port}/cart?x=1`)).json()) as DemoAnswer;

    assert.deepEqual(
      { id: instance.id, address: instance.address, port: instance.port, weight: instance.weight, tags: instance.tags, status: instance.status },
      { id: 'shop-1', address: '127.0.0.1', port: service.address.port, weight: 3, tags: ['blue'], status: 'passing' },
    );
    assert.deepEqual(
      { service: answer.service, instance: answer.instance, port: answer.port, requests: answer.requests, path: answer.path },
      { service: 'shop', instance: 'shop-1', port: service.address.port, requests: 1, path: '/cart' },
    );
  });

  it('counts the requests it served in /metrics and answers /healthz', async (t) => {
    const service = await start('--service', 'counted');
    t.after(() => service.close());
    const url = `http://127.0.0.1:${service.address.port}`;
    for (let i = 0; i < 3; i++) await (await fetch(`${url}/`)).body?.cancel();

    const health = await fetch(`${url}/healthz`);
    const metrics = await (await fetch(`${url}/metrics`)).text();

    assert.equal(health.status, 200);
    assert.match(metrics, /^demo_http_requests_total\{handler="echo",status="200"\} 3$/m);
    assert.match(metrics, /^demo_http_requests_total\{handler="healthz",status="200"\} 1$/m);
  });

  it('deregisters on close, then stops listening', async () => {
    const service = await start('--service', 'leaving');
    await service.registered;
    assert.equal((await registry.api.instances('leaving')).body.length, 1);

    await service.close();

    assert.deepEqual((await registry.api.instances('leaving')).body, []);
    await assert.rejects(fetch(`http://127.0.0.1:${service.address.port}/`));
  });

  it('rejects `registered` when the registry refuses the registration', async (t) => {
    const service = await start('--service', 'refused', '--token', 'x', '--registry', `${registry.server.url}/not-the-api`);
    t.after(() => service.close());

    await assert.rejects(service.registered, { code: 'rejected' });
  });
});
