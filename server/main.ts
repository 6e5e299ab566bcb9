import { startBeacon } from './beacon.js';
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

  let beacon;
  try {
    beacon = await startBeacon(config);
  } catch (error) {
    return fail(1, (error as Error).message);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      beacon.app.log.warn({ signal }, 'second signal: exiting without finishing the graceful stop');
      process.exit(1);
    }
    stopping = true;
    beacon.app.log.info({ signal }, 'stopping');
    beacon.close().then(
      () => process.exit(0),
      (error: unknown) => {
        beacon.app.log.error({ err: error }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function fail(code: number, message: string): void {
  process.stderr.write(`beacon server: ${message}\n`);
  process.exitCode = code;
}
