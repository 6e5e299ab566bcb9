import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Exit {
  /** The exit code; null when a signal ended it (the guard's SIGKILL among others). */
  code: number | null;
  /** stdout and stderr together, in the order they came. */
  output: string;
}

/**
 * Runs a load generator that stops by itself (after its own duration flag) and collects what it
 * printed. `guardMs` only bounds a wedged run: past it the child is killed.
 */
export async function runToExit(command: string, args: readonly string[], guardMs: number): Promise<Exit> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
  // 'close', not 'exit': the pipes are drained by then, so no output is missing.
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(guard);
  return { code, output: Buffer.concat(chunks).toString() };
}
