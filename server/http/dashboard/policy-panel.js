// The selected service's traffic policy, from GET /v1/services/NAME/policy (docs/dashboard.md):
// what every beacon proxy in front of the service follows. A service without one shows a line
// saying the proxies' own flags decide.
import { $, element, note } from './dom.js';

/** Draws `policy` (undefined: the service has none) for service `name`. */
export function renderPolicy(name, policy) {
  const summary = $('policy-summary');
  const document = $('policy-document');
  if (policy === undefined) {
    summary.replaceChildren();
    document.hidden = true;
    return note('policy-note', `${name} has no traffic policy: each proxy follows its own flags.`);
  }
  summary.replaceChildren(...highlights(policy).map(([term, value]) => row(term, value)));
  document.textContent = JSON.stringify(policy, null, 2);
  document.hidden = false;
  note('policy-note', '');
}

/** Clears the panel while no service (or no answer yet) is there to show. */
export function clearPolicy(text) {
  $('policy-summary').replaceChildren();
  $('policy-document').hidden = true;
  note('policy-note', text);
}

/** The fields an operator looks for first, in words; the whole document is shown under them. */
function highlights(policy) {
  const lines = [];
  if (policy.balancing) lines.push(['balancing', policy.balancing + (policy.hashOn ? ` on ${policy.hashOn.header ? `header ${policy.hashOn.header}` : `cookie ${policy.hashOn.cookie}`}` : '')]);
  if (policy.split) {
    const total = policy.split.reduce((sum, share) => sum + share.weight, 0);
    lines.push(['split', policy.split.map((share) => `${share.tag} ${Math.round((100 * share.weight) / total)}%`).join(', ')]);
  }
  if (policy.failover) lines.push(['failover', policy.failover.map((target) => (target.tag ? `tag ${target.tag}` : `service ${target.service}`)).join(' → ')]);
  if (policy.retries?.count !== undefined) lines.push(['retries', `${policy.retries.count}${policy.retries.budgetPercent !== undefined ? `, budget ${policy.retries.budgetPercent}%` : ''}`]);
  if (policy.timeout) lines.push(['timeout', policy.timeout]);
  if (policy.slowStart) lines.push(['slow start', policy.slowStart]);
  return lines;
}

function row(term, value) {
  const line = element('div', 'policy-line');
  line.append(element('dt', '', term), element('dd', '', value));
  return line;
}
