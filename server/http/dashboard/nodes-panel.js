// The nodes serving this registry, from GET /v1/cluster (docs/dashboard.md): every live node of
// a cluster over etcd, or one line for a single node on SQLite, which is no cluster at all.
import { $, cell, duration, element } from './dom.js';

/** SPEC "Cluster": a node that has not heard from etcd for 3 s is not ready and refuses writes. */
const OUT_OF_CONTACT_MS = 3_000;

/** Uptime cells, counted up every second between answers (the view is re-read every few seconds). */
let uptimes = [];

/**
 * Draws `view` (a ClusterView). `lastContactMs` is the answer's X-Beacon-Last-Contact: how long
 * ago the node that served the page last heard from etcd (undefined on SQLite). Only each node
 * knows its own, so the other nodes' contact is not shown.
 */
export function renderNodes(view, lastContactMs) {
  uptimes = [];
  if (view.store !== 'etcd') return renderStandalone(view);
  const rows = view.nodes.map((node) => nodeRow(node, node.name === view.node));
  $('nodes-body').replaceChildren(...rows);
  $('nodes').hidden = rows.length === 0;
  $('nodes-title').textContent = `Nodes · etcd · ${rows.length} live`;
  renderContact(view.node, lastContactMs);
}

/** Redraws the uptimes; `now` is on the registry's clock. */
export function refreshUptimes(now) {
  for (const { node, at } of uptimes) node.textContent = duration(now - at);
}

function renderStandalone(view) {
  const self = view.nodes.find((node) => node.name === view.node);
  $('nodes-body').replaceChildren();
  $('nodes').hidden = true;
  $('nodes-title').textContent = 'Node · standalone';
  const line = [element('span', '', 'Standalone: one node, '), element('strong', 'node-name', view.node), element('span', '', ', keeps the registry in SQLite.')];
  if (self) line.push(element('span', '', ' Up '), uptimeOf(element('span'), self.startedAt), element('span', '', '.'));
  showNote('standalone', line);
}

function nodeRow(node, isThisNode) {
  const row = element('tr', isThisNode ? 'this-node' : '');
  row.dataset.node = node.name;
  const name = element('td', 'node-name', node.name);
  if (isThisNode) name.append(' ', element('span', 'tag', 'this node'));
  const started = element('td', 'started', readableTime(node.startedAt));
  started.title = node.startedAt;
  row.append(name, cell(httpLink(node.http), 'address'), started, uptimeOf(element('td', 'age'), node.startedAt));
  return row;
}

function uptimeOf(node, startedAt) {
  node.title = `started ${startedAt}`;
  uptimes.push({ node, at: Date.parse(startedAt) });
  return node;
}

/** The node's URL opens its own dashboard; anything but http(s) (a URL is text from etcd) stays text. */
function httpLink(url) {
  if (!/^https?:\/\/[^/]+$/.test(url)) return element('span', 'muted', url === '' ? 'not listening yet' : url);
  const link = element('a', '', url);
  link.href = `${url}/ui/`;
  link.title = "this node's dashboard";
  return link;
}

function renderContact(self, lastContactMs) {
  if (lastContactMs === undefined) return showNote('out-of-contact', [element('span', '', `${self} has not heard from etcd yet.`)]);
  if (lastContactMs <= OUT_OF_CONTACT_MS) {
    const ago = lastContactMs < 1_000 ? `${lastContactMs} ms` : `${(lastContactMs / 1000).toFixed(1)} s`;
    return showNote('in-contact', [element('span', '', `${self} (this node) last heard from etcd ${ago} before this list: ready.`)]);
  }
  const seconds = (lastContactMs / 1000).toFixed(1);
  showNote('out-of-contact', [
    element('span', '', `${self} (this node) has not heard from etcd for ${seconds} s: not ready, refusing writes, answering reads and DNS from what it knows.`),
  ]);
}

function showNote(kind, children) {
  const note = $('nodes-note');
  note.className = `note ${kind}`;
  note.replaceChildren(...children);
  note.hidden = false;
}

/** "2026-12-02 10:31:05 UTC": the same for every viewer, whatever their locale. */
function readableTime(iso) {
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}
