import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Which CPU each side of a load test runs on. On a 2-core machine the server gets core 0 and
 * the load generator (wrk, dnsperf) core 1, so the load generator never steals the server's core (and the other way round);
 * with fewer cores, or without taskset, nothing is pinned.
 */
export interface CpuPlan {
  server?: number;
  loadGenerator?: number;
}

export function planCpus(): CpuPlan {
  const tasksetWorks = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetWorks && availableParallelism() >= 2 ? { server: 0, loadGenerator: 1 } : {};
}

/** The command line that runs `command` on `cpu` (taskset execs it, so the pid stays the command's). */
export function onCpu(cpu: number | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', String(cpu), command, ...args]];
}

export function describeCpuPlan(plan: CpuPlan, loadGenerator = 'wrk', server = 'server'): string {
  return plan.server === undefined ? 'not pinned' : `${server} on CPU ${plan.server}, ${loadGenerator} on CPU ${plan.loadGenerator}`;
}
