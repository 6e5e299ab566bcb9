import { type Beacon, startBeacon } from './beacon.js';
import { ConfigError, parseServerConfig, serverUsage } from './config.js';

/**
 * `beacon server`: exit 2 on bad flags, 1 when it cannot start (a taken port, an unreadable
 * database), 0 after a graceful stop on SIGTERM/SIGINT. Failures are one line on stderr.
 */
export async function main(argv: string[]): Promise<void> {
  let config;
  try {
    config = parseServerConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(2, `${error.message} (see beacon server --help)`);
  }
  if (!config) {
    process.stdout.write(`${serverUsage()}\n`);
    return;
  }

  // Signals are handled from the start: one that arrives while starting stops the server as
  // soon as it is up, instead of killing it halfway.
  let beacon: Beacon | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!beacon) {
      requested = signal;
      return;
    }
    const running = beacon;
    if (stopping) {
      running.app.log.warn({ signal }, 'second signal: exiting without finishing the graceful stop');
      process.exit(1);
    }
    stopping = true;
    running.app.log.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.app.log.error({ err: error }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    beacon = await startBeacon(config);
  } catch (error) {
    return fail(1, (error as Error).message);
  }
  if (requested) stop(requested);
}

function fail(code: number, message: string): void {
  process.stderr.write(`beacon server: ${message}\n`);
  process.exitCode = code;
}
