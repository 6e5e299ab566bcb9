import { type CommandResult, runBeacon } from './server-process.js';

/**
 * Runs a `beacon` CLI command to its end with `env` as its only BEACON_* variables (those of
 * the test's own environment are cleared), so a test decides what the command sees.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const cleared = Object.fromEntries(Object.keys(process.env).filter((name) => name.startsWith('BEACON_')).map((name) => [name, undefined]));
  return runBeacon(args, { ...cleared, ...env });
}
