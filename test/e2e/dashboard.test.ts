import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, pageWithErrors } from '../support/browser.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { blockedQueriesReach } from '../support/metrics.js';
import { freePort } from '../support/ports.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const artifacts = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
/**
 * How long the page may take to show a change made over HTTP: milliseconds on an idle machine,
 * but Chromium shares 2 cores with two other test files in `npm test` (a deep link's first
 * render once took over 5 s there).
 */
const LIVE = { timeout: 15_000 };

const rowOf = (page: Page, table: 'services' | 'instances', key: string) =>
  page.locator(`#${table} tr[data-${table === 'services' ? 'service' : 'instance'}="${key}"]`);

async function cellTexts(row: Locator): Promise<string[]> {
  await row.waitFor(LIVE);
  return row.locator('td').allTextContents();
}

/** Waits for a cell of the row to read `text` (a blocking query brings it, not a reload). */
async function waitForCell(row: Locator, cell: string, text: string | RegExp): Promise<void> {
  await row.locator(cell, { hasText: text }).waitFor(LIVE);
}

describe('the dashboard at /ui, in headless Chromium', () => {
  const db = join(tempDir({ after }), 'beacon.db');
  let port: number;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const api = () => client(server.url);

  before(async () => {
    browser = await launchChromium();
    port = await freePort();
    server = await startServerProcess(['--db', db, '--http-port', String(port)]);
    ({ page, errors } = await pageWithErrors(browser));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists each service with its instance counts by status', async () => {
    assert.equal((await api().register('web', 'web-1', { address: '10.0.0.11', tags: ['blue', 'eu'], ttl: 300 })).status, 201);
    assert.equal((await api().register('web', 'web-2', { address: '10.0.0.12', weight: 3, ttl: 300 })).status, 201);
    assert.equal((await api().register('api', 'api-1', { address: '10.0.1.1', port: 9000, ttl: 300 })).status, 201);
    await api().register('db', 'db-1', { address: 'fd00::5', port: 5432, ttl: 300 });
    await api().heartbeat('db', 'db-1', { status: 'critical', output: 'connection refused' });

    await page.goto(`${server.url}/ui`);

    // service, instances, passing, warning, critical, maintenance, health bar
    assert.deepEqual(await cellTexts(rowOf(page, 'services', 'web')), ['web', '2', '2', '0', '0', '0', '']);
    assert.deepEqual(await cellTexts(rowOf(page, 'services', 'db')), ['db', '1', '0', '0', '1', '0', '']);
    assert.deepEqual(await page.locator('#services .service-link').allTextContents(), ['api', 'db', 'web']);
    assert.equal(await page.textContent('#connection'), 'live');
    assert.deepEqual(errors, []);
  });

  it('says a single node on SQLite runs standalone, with its name and uptime, and lists no cluster', async () => {
    const standalone = page.locator('#nodes-note', { hasText: 'Standalone' });

    await standalone.waitFor(LIVE);

    assert.equal(await page.textContent('#nodes-title'), 'Node · standalone');
    assert.match((await standalone.textContent())!, new RegExp(`^Standalone: one node, ${hostname().replace(/\./g, '\\.')}, keeps the registry in SQLite\\. Up (\\d+m )?\\d+s\\.$`));
    assert.equal(await page.locator('#nodes').isHidden(), true);
    assert.equal(await standalone.getAttribute('class'), 'note standalone');
    assert.deepEqual(errors, []);
  });

  it('opening a service lists its instances, and changes made over HTTP appear without a reload', async () => {
    await page.click('#services a:text-is("web")');

    const web1 = rowOf(page, 'instances', 'web-1');
    const web2 = rowOf(page, 'instances', 'web-2');
    // id, address, port, weight, tags, status, output, last heartbeat
    const [id, address, port, weight, tags, status, output, age] = await cellTexts(web1);
    assert.deepEqual([id, address, port, weight, tags, status, output], ['web-1', '10.0.0.11', '8080', '1', 'blueeu', 'passing', '']);
    assert.match(age!, /^\d+s ago$/);
    assert.deepEqual((await cellTexts(web2)).slice(0, 7), ['web-2', '10.0.0.12', '8080', '3', '', 'passing', '']);
    assert.equal(new URL(page.url()).hash, '#/services/web');
    await page.evaluate('window.notReloaded = true');

    await api().put('/v1/services/web/instances/web-2/maintenance', { enabled: true, reason: 'kernel upgrade' });
    await api().heartbeat('web', 'web-1', { status: 'warning', output: 'disk 91% full' });

    await waitForCell(web2, '.status', 'maintenance');
    await waitForCell(web2, '.reason', 'maintenance: kernel upgrade');
    await waitForCell(web1, '.status', 'warning');
    await waitForCell(web1, '.output', 'disk 91% full');
    await waitForCell(rowOf(page, 'services', 'web'), '.count-maintenance', '1');
    assert.deepEqual(await cellTexts(rowOf(page, 'services', 'web')), ['web', '2', '0', '1', '0', '1', '']);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it("shows the selected service's traffic policy, and follows it being set and removed without a reload", async () => {
    await page.click('#services a:text-is("web")');
    await page.locator('#policy-note', { hasText: 'web has no traffic policy: each proxy follows its own flags.' }).waitFor(LIVE);
    await page.evaluate('window.policyNotReloaded = true');
    const policy = { balancing: 'least-request', retries: { count: 1, budgetPercent: 20 }, split: [{ tag: 'blue', weight: 9 }, { tag: 'green', weight: 1 }] };

    assert.equal((await api().put('/v1/services/web/policy', policy)).status, 201);

    await page.locator('#policy-summary dd', { hasText: 'blue 90%, green 10%' }).waitFor(LIVE);
    assert.deepEqual(await page.locator('#policy-summary dt').allTextContents(), ['balancing', 'split', 'retries']);
    assert.deepEqual(await page.locator('#policy-summary dd').allTextContents(), ['least-request', 'blue 90%, green 10%', '1, budget 20%']);
    assert.deepEqual(JSON.parse((await page.locator('#policy-document').textContent())!), policy);
    assert.equal(await page.locator('#policy-note').isHidden(), true);

    assert.equal((await api().delete('/v1/services/web/policy')).status, 204);
    await page.locator('#policy-note', { hasText: 'web has no traffic policy' }).waitFor(LIVE);
    assert.equal(await page.locator('#policy-document').isHidden(), true);
    assert.equal(await page.evaluate('window.policyNotReloaded'), true, 'the page was not reloaded');
    assert.deepEqual(errors, []);
  });

  it("keeps counting the last heartbeat's age up between answers", async () => {
    const age = rowOf(page, 'instances', 'web-2').locator('.age');
    const seconds = async () => Number(/^(\d+)s ago$/.exec((await age.textContent()) ?? '')?.[1]);
    const first = await seconds();

    // Redrawn by the page's own timer, with no new answer from the registry: two seconds more.
    const later = await waitFor(async () => {
      const now = await seconds();
      return now >= first + 2 && now;
    }, { what: `the age to count up from ${first}s by two seconds` });

    assert.ok(later >= first + 2, `the age went from ${first}s to ${later}s`);
  });

  it('shows instance output as text, never as markup', async () => {
    const hostile = '<img src=x onerror="document.body.dataset.owned = 1"><b>bold</b>';
    await api().heartbeat('web', 'web-1', { status: 'critical', output: hostile });
    const web1 = rowOf(page, 'instances', 'web-1');

    await waitForCell(web1, '.status', 'critical');

    assert.equal(await web1.locator('.output').textContent(), hostile);
    assert.equal(await web1.locator('.output img, .output b').count(), 0);
    assert.equal(await page.locator('body').getAttribute('data-owned'), null);
    assert.deepEqual(errors, []);
  });

  it('opens the service a deep link /ui/#/services/NAME names', async () => {
    const { page: linked, errors: linkedErrors } = await pageWithErrors(browser);
    try {
      await linked.goto(`${server.url}/ui/#/services/api`);

      assert.deepEqual((await cellTexts(rowOf(linked, 'instances', 'api-1'))).slice(0, 6), ['api-1', '10.0.1.1', '9000', '1', '', 'passing']);
      assert.equal(await linked.textContent('#instances-title'), 'api · 1 instance');
      assert.equal(await rowOf(linked, 'services', 'api').getAttribute('class'), 'selected');
      assert.deepEqual(linkedErrors, []);
    } finally {
      await linked.close();
    }
  });

  it("switching services ends the previous service's blocking query", async () => {
    await page.click('#services a:text-is("api")');
    await rowOf(page, 'instances', 'api-1').waitFor(LIVE);

    // One watch of the service list, one of the policies and one of api's instances; web's was
    // aborted. (The deep link's page closed; its queries end with its connections.)
    await blockedQueriesReach(server.url, 3);
    assert.equal(await rowOf(page, 'instances', 'web-1').count(), 0);
    assert.deepEqual(errors, []);
  });

  it('says the registry is unreachable while it is down, and catches up when it is back', async () => {
    await server.stop();

    await page.locator('#banner', { hasText: /^Disconnected: cannot reach the registry \(.+\)\. Reconnecting/ }).waitFor(LIVE);
    assert.equal(await page.textContent('#connection'), 'reconnecting');

    server = await startServerProcess(['--db', db, '--http-port', String(port)]);
    assert.equal((await api().delete('/v1/services/api/instances/api-1')).status, 204);

    await page.locator('#instances-note', { hasText: 'No instances of api are registered.' }).waitFor({ timeout: 15_000 });
    await page.locator('#banner').waitFor({ state: 'hidden', ...LIVE });
    assert.equal(await page.textContent('#connection'), 'live');
    assert.equal(await rowOf(page, 'services', 'api').count(), 0);
    // While the registry was down the browser logged each refused or cut connection, nothing else.
    assert.deepEqual(errors.filter((error) => !/net::ERR_CONNECTION_(REFUSED|RESET)/.test(error)), []);
  });
});

describe('the dashboard with --acl', () => {
  const BOOTSTRAP = 'bootstrap-secret-for-dashboard';
  let server: ServerProcess;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    server = await startServerProcess(['--db', ':memory:', '--acl', '--acl-bootstrap-token', BOOTSTRAP]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function asBootstrap(method: string, path: string, body: unknown): Promise<any> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${BOOTSTRAP}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status}`);
    return response.json();
  }

  it('asks for a token, then reads with it and keeps it for the tab', async () => {
    await asBootstrap('PUT', '/v1/services/web/instances/web-1', { address: '10.0.0.11', port: 8080, ttl: 300 });
    const { secret } = await asBootstrap('POST', '/v1/acl/tokens', { kind: 'read', description: 'dashboard' });
    const { page, errors } = await pageWithErrors(browser);

    const opened = await page.goto(`${server.url}/ui/#/services/web`);
    await page.locator('#token-form').waitFor(LIVE);
    assert.equal(opened?.status(), 200);
    assert.match((await page.textContent('#token-reason'))!, /^This registry requires an ACL token to read: a token is required/);

    await page.fill('#token-input', 'not-a-real-secret');
    await page.click('#token-form button');
    await page.locator('#token-reason', { hasText: 'The registry refused the token in use: unknown token' }).waitFor(LIVE);

    await page.fill('#token-input', secret);
    await page.click('#token-form button');
    await rowOf(page, 'instances', 'web-1').waitFor(LIVE);
    assert.deepEqual(await cellTexts(rowOf(page, 'services', 'web')), ['web', '1', '1', '0', '0', '0', '']);
    assert.equal(await page.locator('#token-form').isHidden(), true);
    assert.equal(await page.evaluate("sessionStorage.getItem('beacon.token')"), secret);

    await page.reload();
    await rowOf(page, 'instances', 'web-1').waitFor(LIVE);
    assert.equal(await page.locator('#token-form').isHidden(), true);
    // Chromium logs each refused request; those 401s are the only errors.
    assert.deepEqual(errors.filter((error) => !/status of 401/.test(error)), []);
  });
});
