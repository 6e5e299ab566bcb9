import { ConfigError } from './command-line.js';

/** A started command: something to stop, and the log to say so in. */
export interface RunningCommand {
  log: { info(details: object, message: string): void; warn(details: object, message: string): void; error(details: object, message: string): void };
  close(): Promise<void>;
  /** SIGHUP: read configuration files again (certificates); absent, SIGHUP keeps Node's default. */
  reload?(): void;
}

export interface CommandDefinition<Config> {
  /** Parses flags and environment; null when --help was asked for; throws ConfigError. */
  parse(argv: string[], env: NodeJS.ProcessEnv): Config | null;
  usage(): string;
  /** Starts the command; an error here is a one-line reason to exit 1 (a taken port). */
  start(config: Config): Promise<RunningCommand>;
}

/**
 * How every long-running `beacon` command lives and dies: exit 2 on bad flags, 1 when it
 * cannot start, 0 after a graceful stop on SIGTERM/SIGINT, a second signal exits at once.
 * Failures are one line on stderr. Signals are handled from the start: one that arrives while
 * starting stops the command as soon as it is up, instead of killing it halfway.
 */
export async function runCommand<Config>(name: string, argv: string[], command: CommandDefinition<Config>): Promise<void> {
  const fail = (code: number, message: string) => {
    process.stderr.write(`beacon ${name}: ${message}\n`);
    process.exitCode = code;
  };
  let config: Config | null;
  try {
    config = command.parse(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(2, `${error.message} (see beacon ${name} --help)`);
  }
  if (!config) {
    process.stdout.write(`${command.usage()}\n`);
    return;
  }

  let running: RunningCommand | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!running) {
      requested = signal;
      return;
    }
    const current = running;
    if (stopping) {
      current.log.warn({ signal }, 'second signal: exiting without finishing the graceful stop');
      process.exit(1);
    }
    stopping = true;
    current.log.info({ signal }, 'stopping');
    current.close().then(
      () => process.exit(0),
      (error: unknown) => {
        current.log.error({ err: error }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    running = await command.start(config);
  } catch (error) {
    return fail(1, (error as Error).message);
  }
  if (requested) stop(requested);
  // Listened for only once started, and only by a command that reloads: a reload needs a
  // running command, and SIGHUP while stopping changes nothing.
  const started = running;
  if (started.reload) {
    process.on('SIGHUP', () => {
      if (!stopping) started.reload!();
    });
  }
}
