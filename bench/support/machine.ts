import { availableParallelism, cpus, loadavg } from 'node:os';
import { type CpuPlan, describeCpuPlan } from './cpu.js';

/** Where and how busy: the first line of every report, since the machine is shared. */
export interface Machine {
  node: string;
  cpuModel: string;
  cores: number;
  pinning: string;
  loadAverage: { before: number; after: number };
}

/** Read when a bench ends; `loadBefore` is the 1-minute load average when it started. */
export function readMachine(plan: CpuPlan, loadGenerator: string, loadBefore: number, server?: string): Machine {
  return {
    node: process.version,
    cpuModel: cpus()[0]?.model ?? 'unknown CPU',
    cores: availableParallelism(),
    pinning: describeCpuPlan(plan, loadGenerator, server),
    loadAverage: { before: loadBefore, after: currentLoad() },
  };
}

/** Other work on the machine is the main source of noise; reports state how busy it was. */
export function currentLoad(): number {
  return loadavg()[0]!;
}

export function describeMachine(date: Date, machine: Machine): string {
  const load = machine.loadAverage;
  return (
    `- Measured ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC with Node ${machine.node} on ${machine.cpuModel}, ` +
    `${machine.cores} cores shared with other work (1-minute load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after); ` +
    `${machine.pinning}.`
  );
}
