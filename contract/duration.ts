import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A duration as text — `30`, `30s`, `5m`, `120000ms` (no unit: seconds, as Consul's `wait`) —
 * turned into milliseconds. One grammar for query strings and command-line flags alike.
 * `subject` starts the error message (a flag's name); field errors already carry their path.
 */
export function durationMs(subject?: string) {
  const prefix = subject ? `${subject} ` : '';
  return z
    .string({ error: `${prefix}is required` })
    .regex(/^\d{1,9}(ms|s|m)?$/, `${prefix}must be a duration such as 30, 30s, 5m or 120000ms (no unit: seconds)`)
    .transform((value) => {
      const [, amount, unit] = /^(\d+)(ms|s|m)?$/.exec(value)!;
      return Number(amount) * UNIT_MS[unit ?? 's']!;
    });
}
