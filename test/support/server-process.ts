import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/** Runs `beacon server` as a real process on loopback with any free port; resolves once it listens. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [beaconBin, 'server', '--http-port', '0', '--dns-port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  // The last listener to start is DNS over TCP: once it is logged, everything is up.
  const { url, dnsPort } = await new Promise<{ url: string; dnsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 15 s:\n${output}`)), 15_000);
    const check = () => {
      const http = /HTTP API listening on (http:\/\/\S+?)"/.exec(output);
      const dns = /DNS listening on tcp:\/\/\S+:(\d+)"/.exec(output);
      if (http && dns) {
        clearTimeout(timer);
        resolve({ url: http[1]!, dnsPort: Number(dns[1]) });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    dnsPort,
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

/** Runs `beacon server` expecting it to fail; resolves with its exit code and output. */
export async function runServerExpectingExit(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [beaconBin, 'server', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
