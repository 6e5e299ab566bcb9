import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const beaconBin = fileURLToPath(new URL('../../../bin/beacon.js', import.meta.url));

export interface ServerProcess {
  url: string;
  /** The DNS port, UDP and TCP. */
  dnsPort: number;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A bound, not a wait: a start normally takes about a second, but a machine running several
 * suites at once (load 10 on 2 cores) was seen to need more than 15 s.
 */
const START_TIMEOUT_MS = 30_000;

/** A `beacon` command running as a child process, with what its start-up lines said. */
export interface CommandProcess<T> {
  ready: T;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `beacon <args>` and resolves once `ready` finds what it needs in the output (the
 * listening lines); rejects if the process exits first or takes over 15 s.
 */
export async function startCommandProcess<T>(args: string[], ready: (output: string) => T | undefined, env: NodeJS.ProcessEnv = {}): Promise<CommandProcess<T>> {
  const child = spawn(process.execPath, [beaconBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  leaveNoOrphan(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const found = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`beacon ${args[0]} did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`));
    }, START_TIMEOUT_MS);
    const check = () => {
      const value = ready(output);
      if (value === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(value);
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`beacon ${args[0]} exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    ready: found,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

const running = new Set<ChildProcess>();
// A child a test forgot to stop (a test that failed before registering its cleanup) would keep
// the test file running forever: whatever is left when the file's tests are done is killed.
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

function leaveNoOrphan(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Runs `beacon server` as a real process on loopback with any free port; resolves once it listens. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  // The last listener to start is DNS over TCP: once it is logged, everything is up.
  const started = await startCommandProcess(
    ['server', '--http-port', '0', '--dns-port', '0', ...args],
    (output) => {
      const http = /HTTP API listening on (https?:\/\/\S+?)"/.exec(output);
      const dns = /DNS listening on tcp:\/\/\S+:(\d+)"/.exec(output);
      return http && dns ? { url: http[1]!, dnsPort: Number(dns[1]) } : undefined;
    },
    env,
  );
  return { ...started.ready, child: started.child, output: started.output, stop: started.stop };
}

/** What a `beacon` command that ran to its end did. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `beacon <args>` to its end (killed after 15 s); resolves with its exit code and output. */
export async function runBeacon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const child = spawn(process.execPath, [beaconBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs `beacon server` expecting it to fail; resolves with its exit code and output. */
export function runServerExpectingExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return runBeacon(['server', ...args], env);
}
