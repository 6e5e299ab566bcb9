import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system) a process has used so far, in milliseconds, read from Linux's
 * /proc/<pid>/stat; undefined elsewhere. CPU time per request is the steadier figure on a
 * shared machine: other work there lowers a server's req/s, but hardly what each request costs.
 */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // proc(5): after "pid (comm) " come state, ppid, ... with utime and stime 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicksPerSecond();
}

/** What `work` resolved with, and the CPU time process `pid` used meanwhile (undefined off Linux). */
export async function duringWork<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuMs?: number }> {
  const before = processCpuMs(pid);
  const result = await work();
  const after = processCpuMs(pid);
  return before === undefined || after === undefined ? { result } : { result, cpuMs: after - before };
}

function clockTicksPerSecond(): number {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(answer.stdout);
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}
