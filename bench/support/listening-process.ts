import { spawn } from 'node:child_process';

/** A server running in a child process, so it has its own event loop (and core) like in production. */
export interface ListeningProcess {
  url: string;
  /** Every group the listening line captured: group 1 (the URL) first. */
  captures: string[];
  pid: number;
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

export interface ProcessStart {
  command: string;
  args: readonly string[];
  /** Matches the output announcing the listener (it may span lines); group 1 is the base URL. */
  listeningLine: RegExp;
  name: string;
}

/** Output kept for error messages; older output is dropped so a chatty child cannot grow memory. */
const OUTPUT_TAIL_CHARS = 16_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export async function startListeningProcess(start: ProcessStart): Promise<ListeningProcess> {
  const child = spawn(start.command, start.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Keep reading for the whole run: a full pipe would block the child's (synchronous) logging.
  const keep = (chunk: Buffer) => (output = (output + chunk).slice(-OUTPUT_TAIL_CHARS));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const stop = async () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  };

  try {
    const captures = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${start.name} did not listen within ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
      child.stdout.on('data', () => {
        const found = start.listeningLine.exec(output);
        if (found) {
          clearTimeout(timer);
          resolve(found.slice(1) as string[]);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${start.name} exited (${signal ?? code}) before listening:\n${output}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${start.name} could not be started: ${error.message}`));
      });
    });
    return { url: captures[0]!, captures, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `work` against a freshly started process, and stops the process however work ends. */
export async function withListeningProcess<T>(start: ProcessStart, work: (server: ListeningProcess) => Promise<T>): Promise<T> {
  const server = await startListeningProcess(start);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}
