import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Acl } from '../../../server/acl/acl.js';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { dashboardDir } from '../../../server/paths.js';
import { registryWithClock } from '../../support/registry.js';

describe('the dashboard files at /ui', () => {
  let app: FastifyInstance;
  before(async () => {
    const { registry, store, clock } = registryWithClock();
    app = await buildApp({ registry, metrics: new Metrics(), acl: await Acl.open(store, clock, 'bootstrap-secret-for-tests'), logLevel: false });
  });
  after(() => app.close());

  for (const url of ['/ui', '/ui/']) {
    it(`${url} serves the page, which loads the module and the style sheet`, async () => {
      const page = await app.inject({ url });

      assert.equal(page.statusCode, 200);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(page.body, /<script type="module" src="\/ui\/dashboard\.js"><\/script>/);
      assert.match(page.body, /<link rel="stylesheet" href="\/ui\/dashboard\.css">/);
    });
  }

  it('serves every script of the folder as JavaScript and the style sheet as CSS', async () => {
    const scripts = readdirSync(dashboardDir).filter((file) => file.endsWith('.js'));
    const style = await app.inject({ url: '/ui/dashboard.css' });

    assert.deepEqual(scripts.sort(), ['dashboard.js', 'dom.js', 'nodes-panel.js', 'policy-panel.js']);
    for (const file of scripts) {
      const script = await app.inject({ url: `/ui/${file}` });
      assert.equal(script.statusCode, 200, file);
      assert.equal(script.headers['content-type'], 'application/javascript; charset=utf-8', file);
      assert.equal(script.body, readFileSync(`${dashboardDir}/${file}`, 'utf8'), file);
    }
    assert.equal(style.statusCode, 200);
    assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
  });

  it('answers a revalidation with 304', async () => {
    const first = await app.inject({ url: '/ui/dashboard.js' });

    const again = await app.inject({ url: '/ui/dashboard.js', headers: { 'if-none-match': String(first.headers.etag) } });

    assert.equal(again.statusCode, 304);
  });

  it('sends a content security policy that allows only this origin and no inline script', async () => {
    const page = await app.inject({ url: '/ui' });

    const policy = String(page.headers['content-security-policy']);
    assert.match(policy, /(^|; )default-src 'none'(;|$)/);
    assert.match(policy, /(^|; )script-src 'self'(;|$)/);
    assert.match(policy, /(^|; )connect-src 'self'(;|$)/);
    assert.match(policy, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
  });

  it('stays open with --acl while /v1 asks for a token', async () => {
    const page = await app.inject({ url: '/ui' });
    const script = await app.inject({ url: '/ui/dashboard.js' });
    const services = await app.inject({ url: '/v1/services' });

    assert.equal(page.statusCode, 200);
    assert.equal(script.statusCode, 200);
    assert.equal(services.statusCode, 401);
  });

  it('serves nothing else under /ui: other names are unknown routes', async () => {
    for (const url of ['/ui/index.html', '/ui/nope.js', '/ui/../package.json', '/ui/%2e%2e/package.json']) {
      const answer = await app.inject({ url });
      assert.equal(answer.statusCode, 404, url);
      assert.equal(answer.json().statusCode, 404, url);
    }
  });

  it('is left out of the OpenAPI document', () => {
    const paths = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths);

    assert.deepEqual(paths.filter((path) => path.startsWith('/ui')), []);
  });
});

describe('the dashboard scripts', () => {
  it('never parse registry data as HTML: no innerHTML, outerHTML, insertAdjacentHTML or document.write', () => {
    for (const file of readdirSync(dashboardDir).filter((name) => name.endsWith('.js'))) {
      const script = readFileSync(`${dashboardDir}/${file}`, 'utf8');

      assert.doesNotMatch(script, /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write/, file);
    }
  });
});
