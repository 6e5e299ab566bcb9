import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, pageWithErrors } from '../support/browser.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const artifacts = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
/**
 * How long the page may take to show a change of the node list: it re-reads /v1/cluster every
 * 5 s (there is no blocking query on it), and a loaded machine adds its own delays.
 */
const NEXT_READ = { timeout: 15_000 };

/** The dashboard of a node of a cluster over a real 3-member etcd, in headless Chromium. */
describe('the dashboard lists the nodes of a cluster', () => {
  let etcd: EtcdCluster;
  const nodes: ServerProcess[] = [];
  let nodesStartedFrom: number;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const nodeRow = (name: string) => page.locator(`#nodes tr[data-node="${name}"]`);

  before(async () => {
    browser = await launchChromium();
    etcd = await startEtcdCluster();
    nodesStartedFrom = Date.now();
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', `/beacon-${process.pid}/`, '--node-name', name]));
    }
    ({ page, errors } = await pageWithErrors(browser));
  });
  after(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await etcd?.stop();
  });

  it("lists both live nodes with their HTTP API, start and uptime, marks the one serving the page, and shows its contact with etcd", async () => {
    // A node announces its URL once it listens: wait until node-a's view has both URLs.
    await waitFor(async () => (await client(nodes[0]!.url).get('/v1/cluster')).body.nodes.filter((node: { http: string }) => node.http !== '').length === 2, {
      what: 'both nodes announced at node-a',
    });

    await page.goto(`${nodes[0]!.url}/ui`);
    await nodeRow('node-b').locator('a').waitFor(NEXT_READ);

    assert.equal(await page.textContent('#nodes-title'), 'Nodes · etcd · 2 live');
    assert.deepEqual(await page.locator('#nodes td.node-name').allTextContents(), ['node-a this node', 'node-b']);
    const [nameA, httpA, startedA, uptimeA] = await nodeRow('node-a').locator('td').allTextContents();
    const startedAt = (await nodeRow('node-a').locator('td.started').getAttribute('title'))!;
    assert.equal(nameA, 'node-a this node');
    assert.equal(httpA, nodes[0]!.url);
    assert.equal(startedA, `${startedAt.slice(0, 10)} ${startedAt.slice(11, 19)} UTC`);
    assert.ok(Date.parse(startedAt) >= nodesStartedFrom, `node-a started at ${startedAt}, after the test started it`);
    assert.match(uptimeA!, /^(\d+m )?\d+s$/);
    assert.equal(await nodeRow('node-a').getAttribute('class'), 'this-node');
    assert.equal(await nodeRow('node-b').locator('td').first().textContent(), 'node-b');
    assert.equal(await nodeRow('node-b').locator('a').getAttribute('href'), `${nodes[1]!.url}/ui/`);
    assert.match((await page.textContent('#nodes-note'))!, /^node-a \(this node\) last heard from etcd (\d+ ms|[0-3]\.\d s) before this list: ready\.$/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard-cluster.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it('drops a node that was killed once its session in etcd has expired, without a reload', async () => {
    await page.evaluate('window.notReloaded = true');

    await nodes[1]!.stop('SIGKILL');
    // The event: node-b's session lease (5 s) expired and node-a's view no longer lists it.
    await waitFor(async () => (await client(nodes[0]!.url).get('/v1/cluster')).body.nodes.length === 1, { what: "node-b's session to expire at node-a", timeoutMs: 20_000 });
    await nodeRow('node-b').waitFor({ state: 'detached', ...NEXT_READ });

    assert.equal(await page.textContent('#nodes-title'), 'Nodes · etcd · 1 live');
    assert.deepEqual(await page.locator('#nodes td.node-name').allTextContents(), ['node-a this node']);
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    assert.deepEqual(errors, []);
  });
});
