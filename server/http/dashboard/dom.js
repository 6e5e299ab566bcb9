// Building the page's elements. Registry data is text other people wrote (instance output,
// tags, node names, URLs kept in etcd), so it reaches the page through textContent only.

export const $ = (id) => document.getElementById(id);

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

export function cell(child, className) {
  const td = element('td', className);
  td.append(child);
  return td;
}

/** Sets a note paragraph's text; an empty text hides it. */
export function note(id, text) {
  $(id).textContent = text;
  $(id).hidden = text === '';
}

/** "42s", "3m 12s", "2h 5m", "4d 1h": how long, to the second. */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
