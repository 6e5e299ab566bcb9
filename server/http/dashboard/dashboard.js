// The Beacon dashboard: the service list and one service's instances, kept live with the
// registry's blocking queries, and the nodes serving it (docs/dashboard.md). Plain DOM on
// purpose: registry data (output, tags, ids) is text other people wrote, so it reaches the page
// through textContent only.
import { $, cell, duration, element, note } from './dom.js';
import { refreshUptimes, renderNodes } from './nodes-panel.js';
import { clearPolicy, renderPolicy } from './policy-panel.js';

const STATUSES = ['passing', 'warning', 'critical', 'maintenance'];
const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TOKEN_KEY = 'beacon.token';
/** Seconds a service-list query waits: under the 60 s idle timeout of many proxies. */
const LIST_WAIT_S = 55;
/** How long past its wait an answer may take before the request counts as lost. */
const ANSWER_GRACE_MS = 15_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** Rows drawn per table: a 25,000-instance service would make every update crawl. */
const MAX_ROWS = 1_000;
/**
 * Seconds between two reads of the node list. It has no blocking query (a node coming or going
 * moves no index), so it is re-read at the pace a node's death shows in etcd: its 5 s session.
 */
const NODES_REFRESH_S = 5;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  /** Aborts every watch at once: when a token is needed or replaced. */
  session: undefined,
  /** Aborts the watch of the selected service's instances. */
  instanceWatch: undefined,
  selected: undefined,
  /** Watch name → why it failed and when it retries (undefined: it gave up). */
  failures: new Map(),
  /** Server clock minus ours, when they disagree by more than the Date header's precision. */
  clockSkewMs: 0,
  /** Every service's traffic policy, by name (undefined until the first answer). */
  policies: undefined,
  /** Cells showing "4s ago", refreshed every second. */
  ageCells: [],
};

/** Fired when a watch gets an answer after failures: the others stop waiting out their back-off. */
const registryBack = new EventTarget();

class HttpError extends Error {
  constructor(status, message, retryAfterS) {
    super(message);
    this.status = status;
    this.retryAfterS = retryAfterS;
  }
}

// ---- Talking to the registry ----

/** GETs a JSON answer; resolves with it and its headers, rejects with HttpError or a network error. */
async function getJson(url, signal, timeoutMs) {
  const request = new AbortController();
  const abort = () => request.abort();
  signal.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(abort, timeoutMs);
  try {
    const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
    const response = await fetch(url, { headers, signal: request.signal, cache: 'no-store' });
    const body = await response.json().catch(() => undefined);
    if (!response.ok) {
      throw new HttpError(response.status, body?.message ?? response.statusText, Number(response.headers.get('retry-after')) || 0);
    }
    noteServerClock(response.headers.get('date'));
    return { body, headers: response.headers };
  } catch (error) {
    if (request.signal.aborted && !signal.aborted) throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`);
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/**
 * A blocking-query loop: the first request answers at once, each next one waits until the
 * list's index moves (or `waitS()` seconds pass). With `blocking: false`, for a resource that
 * has no index, each request answers at once and the next one is sent `waitS()` seconds later.
 * Network errors, 5xx and 429 back off and retry; 401/403 stop everything and ask for a token;
 * other 4xx give up (retrying would not help).
 */
async function watch(name, url, { signal, waitS, onList, blocking = true }) {
  let index;
  let failures = 0;
  while (!signal.aborted) {
    const wait = waitS();
    const blocks = blocking && index !== undefined;
    try {
      const answer = await getJson(url + (blocks ? `?index=${index}&wait=${wait}s` : ''), signal, (blocks ? wait * 1000 : 0) + ANSWER_GRACE_MS);
      if (blocking) {
        // A lower index than ours means the registry was restored from a backup: follow it.
        index = Number(answer.headers.get('x-beacon-index') ?? NaN);
        if (!Number.isSafeInteger(index)) throw new Error('the answer carried no X-Beacon-Index header');
      }
      failures = 0;
      setFailure(name, undefined);
      if (state.failures.size > 0) registryBack.dispatchEvent(new Event('answered'));
      onList(answer.body, answer.headers);
      if (!blocking) await pause(wait * 1000, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof HttpError && (error.status === 401 || error.status === 403)) return askForToken(error.message);
      if (error instanceof HttpError && error.status < 500 && error.status !== 408 && error.status !== 429) {
        return setFailure(name, { message: `the registry refused ${url}: ${error.message}` });
      }
      failures += 1;
      const delayMs = Math.max(retryDelayMs(failures), (error.retryAfterS ?? 0) * 1000);
      setFailure(name, { message: describeFailure(error), retryAt: Date.now() + delayMs });
      await backOff(delayMs, signal);
    }
  }
}

/** Exponential, capped, with jitter so tabs reopened by a registry restart do not retry in step. */
function retryDelayMs(failures) {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function describeFailure(error) {
  if (error instanceof HttpError) return `the registry answered ${error.status} (${error.message})`;
  return `cannot reach the registry (${error.message})`;
}

/** Resolves after `ms`, or sooner: when aborted, or when another watch reached the registry. */
function backOff(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      registryBack.removeEventListener('answered', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    registryBack.addEventListener('answered', done, { once: true });
  });
}

/** Resolves after `ms`, or at once when aborted. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A controller aborted with its parent, or on its own. */
function childController(parent) {
  const child = new AbortController();
  parent.addEventListener('abort', () => child.abort(), { once: true });
  return child;
}

/**
 * Ages are measured on the registry's clock. The Date header has one-second precision, so
 * smaller differences are noise, not skew.
 */
function noteServerClock(date) {
  const server = Date.parse(date ?? '');
  if (Number.isNaN(server)) return;
  const skew = server + 500 - Date.now();
  state.clockSkewMs = Math.abs(skew) > 2_000 ? skew : 0;
}

// ---- What runs ----

function start() {
  state.session?.abort();
  state.session = new AbortController();
  state.failures.clear();
  $('token-form').hidden = true;
  $('forget-token').hidden = !state.token;
  watch('services', '/v1/services', { signal: state.session.signal, waitS: () => LIST_WAIT_S, onList: renderServices });
  // Every policy in one watch (a service without one is simply absent from it), so switching
  // services costs no request and a missing policy is no failed request.
  watch('policies', '/v1/policies', {
    signal: state.session.signal,
    waitS: () => LIST_WAIT_S,
    onList: (policies) => {
      state.policies = policies;
      if (state.selected !== undefined && SERVICE_NAME.test(state.selected)) renderPolicy(state.selected, policyOf(state.selected));
    },
  });
  watch('nodes', '/v1/cluster', {
    signal: state.session.signal,
    blocking: false,
    waitS: () => NODES_REFRESH_S,
    onList: (view, headers) => {
      const lastContact = headers.get('x-beacon-last-contact');
      renderNodes(view, lastContact === null ? undefined : Number(lastContact));
      refreshUptimes(Date.now() + state.clockSkewMs);
    },
  });
  select(selectedFromHash());
  renderConnection();
}

function selectedFromHash() {
  const match = /^#\/services\/([^/]*)$/.exec(location.hash);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1]; // malformed %-escapes: shown as typed, refused as a name below
  }
}

/** Shows a service's instances (undefined: none selected), stopping the previous service's watch. */
function select(name) {
  state.instanceWatch?.abort();
  state.instanceWatch = undefined;
  state.selected = name;
  setFailure('instances', undefined);
  markSelectedService();
  $('instances-body').replaceChildren();
  $('instances').hidden = true;
  $('instances-title').textContent = name ?? 'Instances';
  document.title = name ? `${name} · Beacon` : 'Beacon';
  clearPolicy(name === undefined ? 'Select a service to see its traffic policy.' : '');
  if (name === undefined) return showInstancesNote('Select a service to see its instances.');
  if (!SERVICE_NAME.test(name)) return showInstancesNote(`"${name}" is not a service name (one lower-case DNS label).`);
  if (!state.session) return showInstancesNote('Waiting for a token.');
  showInstancesNote('Loading…');
  const controller = childController(state.session.signal);
  state.instanceWatch = controller;
  // Plain heartbeats do not move the index, so a change-only watch would show heartbeat ages
  // growing until the wait ran out: re-read at the service's heartbeat pace (a third of its
  // shortest TTL) instead, 2-55 s.
  let refreshS = LIST_WAIT_S;
  watch('instances', `/v1/services/${encodeURIComponent(name)}/instances`, {
    signal: controller.signal,
    waitS: () => refreshS,
    onList: (instances) => {
      if (instances.length > 0) refreshS = clamp(Math.ceil(instances.reduce((min, i) => Math.min(min, i.ttl), Infinity) / 3), 2, LIST_WAIT_S);
      renderInstances(name, instances);
    },
  });
  if (state.policies) renderPolicy(name, policyOf(name));
}

/** The service's policy; a name such as "constructor" is a service, not an inherited property. */
function policyOf(name) {
  return Object.hasOwn(state.policies, name) ? state.policies[name] : undefined;
}

function askForToken(message) {
  state.session?.abort();
  state.session = undefined;
  state.failures.clear();
  renderConnection();
  $('token-reason').textContent = state.token
    ? `The registry refused the token in use: ${message}`
    : `This registry requires an ACL token to read: ${message}`;
  $('token-form').hidden = false;
  $('token-input').focus();
}

// ---- Drawing ----

function renderServices(services) {
  const rows = services.slice(0, MAX_ROWS).map((service) => {
    const row = element('tr');
    row.dataset.service = service.name;
    const link = element('a', 'service-link', service.name);
    link.href = `#/services/${service.name}`;
    row.append(cell(link), element('td', 'number count-instances', service.instances));
    for (const status of STATUSES) {
      const count = service[status];
      row.append(element('td', `number count count-${status}${count === 0 ? ' zero' : ''}`, count));
    }
    row.append(cell(healthBar(service), 'bar-column'));
    return row;
  });
  $('services-body').replaceChildren(...rows);
  note('services-note', services.length === 0 ? 'No services registered yet.' : truncationNote(services.length, 'services'));
  markSelectedService();
  renderConnection();
}

function healthBar(service) {
  const bar = element('div', 'bar');
  bar.title = STATUSES.map((status) => `${service[status]} ${status}`).join(', ');
  for (const status of STATUSES) {
    if (service[status] === 0) continue;
    const segment = element('span', `segment ${status}`);
    segment.style.flexGrow = String(service[status]);
    bar.append(segment);
  }
  return bar;
}

function markSelectedService() {
  for (const row of $('services-body').children) row.classList.toggle('selected', row.dataset.service === state.selected);
}

function renderInstances(name, instances) {
  if (name !== state.selected) return;
  state.ageCells = [];
  const rows = instances.slice(0, MAX_ROWS).map((instance) => {
    const row = element('tr', `status-${instance.status}`);
    row.dataset.instance = instance.id;
    const tags = element('div', 'tags');
    tags.append(...instance.tags.map((tag) => element('span', 'tag', tag)));
    const output = element('div', 'output', instance.output);
    const outputCell = cell(output, 'output-column');
    if (instance.maintenanceReason) outputCell.append(element('div', 'reason', `maintenance: ${instance.maintenanceReason}`));
    const age = element('td', 'age');
    age.title = instance.lastHeartbeatAt;
    state.ageCells.push({ node: age, at: Date.parse(instance.lastHeartbeatAt) });
    row.append(
      element('td', 'id', instance.id),
      element('td', 'address', instance.address),
      element('td', 'number port', instance.port),
      element('td', 'number weight', instance.weight),
      cell(tags),
      cell(statusBadge(instance.status), 'status-column'),
      outputCell,
      age,
    );
    return row;
  });
  $('instances-body').replaceChildren(...rows);
  $('instances').hidden = instances.length === 0;
  const count = `${instances.length} instance${instances.length === 1 ? '' : 's'}`;
  $('instances-title').textContent = `${name} · ${count}`;
  note('instances-note', instances.length === 0 ? `No instances of ${name} are registered.` : truncationNote(instances.length, 'instances'));
  refreshAges();
}

function statusBadge(status) {
  const badge = element('span', `status ${status}`, status);
  badge.prepend(element('span', 'dot'));
  return badge;
}

function showInstancesNote(text) {
  note('instances-note', text);
}

function truncationNote(total, what) {
  return total > MAX_ROWS ? `Showing the first ${MAX_ROWS} of ${total} ${what}.` : '';
}

function setFailure(name, failure) {
  if (failure === undefined) state.failures.delete(name);
  else state.failures.set(name, failure);
  renderConnection();
}

/** The header's live/reconnecting state and the banner, from the watches' failures. */
function renderConnection() {
  const connection = $('connection');
  const banner = $('banner');
  const [failure] = state.failures.values();
  if (!state.session) {
    connection.textContent = 'token needed';
    connection.className = 'connection waiting';
  } else if (failure?.retryAt !== undefined) {
    connection.textContent = 'reconnecting';
    connection.className = 'connection down';
  } else {
    connection.textContent = 'live';
    connection.className = 'connection live';
  }
  if (failure === undefined) {
    banner.hidden = true;
    return;
  }
  const retryS = failure.retryAt === undefined ? undefined : Math.max(0, Math.ceil((failure.retryAt - Date.now()) / 1000));
  banner.textContent =
    retryS === undefined
      ? failure.message
      : `Disconnected: ${failure.message}. Reconnecting${retryS > 0 ? ` in ${retryS} s` : ''}…`;
  banner.hidden = false;
}

function refreshAges() {
  const now = Date.now() + state.clockSkewMs;
  for (const { node, at } of state.ageCells) node.textContent = `${duration(now - at)} ago`;
  refreshUptimes(now);
}

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

// ---- Wiring ----

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim();
  if (token === '') return;
  sessionStorage.setItem(TOKEN_KEY, token);
  state.token = token;
  $('token-input').value = '';
  start();
});

$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = '';
  start();
});

window.addEventListener('hashchange', () => select(selectedFromHash()));

setInterval(() => {
  refreshAges();
  if (state.failures.size > 0) renderConnection();
}, 1_000);

start();
