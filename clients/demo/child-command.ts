import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The `beacon` command: this file runs compiled, from dist/clients/demo/. */
const BEACON_BIN = fileURLToPath(new URL('../../../bin/beacon.js', import.meta.url));

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** pino's number for a level name (`silent`: above everything). */
export function levelNumber(name: string): number {
  const found = Object.entries(LEVELS).find(([, label]) => label === name);
  return found ? Number(found[0]) : Infinity;
}
/** pino's own fields, left out of a printed line. */
const PINO_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);
/** How many of a child's last lines a failure message quotes. */
const KEPT_LINES = 3;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildCommandOptions {
  /** Where each formatted line goes (the demo prints it). */
  print(line: string): void;
  /** Width the name is padded to, so the columns line up. */
  nameWidth: number;
  /** Log lines below this pino level are not printed (they are still read, to see the process start). */
  printLevel: number;
}

/**
 * One `beacon <command>` the demo runs, its pino lines printed as `name │ message`. It runs
 * in its own process group (detached), so a Ctrl-C in the terminal reaches the demo alone and
 * the demo stops its children in order: proxy, services, registry. (Sent to the whole group,
 * the registry would close while the services were still deregistering.)
 */
export class ChildCommand {
  readonly child: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private exit: ChildExit | undefined;
  private readonly recent: string[] = [];
  private readonly watchers = new Set<(message: string) => void>();

  constructor(
    readonly name: string,
    args: string[],
    private readonly options: ChildCommandOptions,
  ) {
    // The demo passes every setting as a flag: BEACON_* variables meant for it must not leak into its children.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BEACON_')));
    this.child = spawn(process.execPath, [BEACON_BIN, ...args], { detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve((this.exit = { code, signal })));
      // A spawn that fails outright (no node?) ends here rather than as an unhandled 'error'.
      this.child.once('error', (error) => {
        this.remember(error.message);
        resolve((this.exit = { code: null, signal: null }));
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves with the first log message (from now on) that matches. */
  waitForMessage(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve) => {
      const watcher = (message: string) => {
        const match = pattern.exec(message);
        if (!match) return;
        this.watchers.delete(watcher);
        resolve(match);
      };
      this.watchers.add(watcher);
    });
  }

  /** `web-2 exited with code 1: <its last lines>`, for messages that must say why. */
  describeExit(exit: ChildExit): string {
    const how = exit.signal ? `was killed by ${exit.signal}` : exit.code === null ? 'could not be started' : `exited with code ${exit.code}`;
    return this.recent.length > 0 ? `${this.name} ${how}; last output: ${this.recent.join(' / ')}` : `${this.name} ${how}`;
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. A process frozen with
   * SIGSTOP (the tour suggests it) is woken first, or it could not act on the SIGTERM.
   * Resolves with its exit and whether it had to be killed.
   */
  async stop(timeoutMs: number): Promise<ChildExit & { killed: boolean }> {
    if (this.exit) return { ...this.exit, killed: false };
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome !== 'late') return { ...outcome, killed: false };
    this.kill();
    return { ...(await this.exited), killed: true };
  }

  /** SIGKILL at once (synchronous: safe in a process 'exit' handler). */
  kill(): void {
    if (this.exit) return;
    this.signal('SIGKILL');
  }

  /** A process that exited between the check and the signal makes kill() return false: its 'exit' is on the way. */
  private signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private onLine(line: string): void {
    const { text, message, level } = formatLogLine(line);
    this.remember(message);
    if (level >= this.options.printLevel) this.options.print(`${this.name.padEnd(this.options.nameWidth)} │ ${text}`);
    for (const watcher of [...this.watchers]) watcher(message);
  }

  private remember(message: string): void {
    this.recent.push(message);
    if (this.recent.length > KEPT_LINES) this.recent.shift();
  }
}

/**
 * A pino JSON line as `message key=value...`, with the level in front when it is not info.
 * Anything else (a command's one-line failure on stderr) is printed as it is, whatever the level.
 */
export function formatLogLine(line: string): { text: string; message: string; level: number } {
  const plain = { text: line, message: line, level: Infinity };
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return plain;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.msg !== 'string') return plain;
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const label = level === 30 ? '' : `${(LEVELS[level] ?? String(level)).toUpperCase()} `;
  const details = Object.entries(entry)
    .filter(([key]) => !PINO_FIELDS.has(key))
    .map(([key, value]) => ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('');
  return { text: `${label}${entry.msg}${details}`, message: entry.msg, level };
}
