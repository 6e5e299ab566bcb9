import { isIPv6 } from 'node:net';
import type { ApiInstance } from '../registry/openapi-contract.js';

/**
 * Plain-text tables for people: a header, then rows, each column as wide as its widest cell,
 * two spaces apart. Cells are folded to one line, so a multi-line heartbeat output cannot
 * break the table.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => cell.replace(/\s+/g, ' ')));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const lines = cells.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/** --json: the value on one line, as the API sends it, for jq and friends. */
export function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** `3s ago`, `4m ago`, `2h ago`, `3d ago`: how long before `now` an ISO 8601 time was. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** `10.0.0.1:8080`, `[fd00::1]:8080`. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `web/web-1`, as the registry's own messages name an instance. */
export function instanceName(instance: Pick<ApiInstance, 'service' | 'id'>): string {
  return `${instance.service}/${instance.id}`;
}

/** `passing`, `warning (disk 91% full)`, `maintenance (kernel upgrade)`: the status with what explains it. */
export function statusLine(instance: ApiInstance): string {
  const why = instance.status === 'maintenance' ? instance.maintenanceReason : instance.output;
  return why ? `${instance.status} (${why.replace(/\s+/g, ' ')})` : instance.status;
}

/** One instance, in the words the CLI's write commands answer with. */
export function describeInstance(instance: ApiInstance): string {
  const tags = instance.tags.length > 0 ? `, tags ${instance.tags.join(',')}` : '';
  return `${instanceName(instance)} at ${hostPort(instance.address, instance.port)}: ${statusLine(instance)} (weight ${instance.weight}${tags}, ttl ${instance.ttl}s)`;
}
