import { startBeacon } from './beacon.js';
import { runCommand } from '../contract/command.js';
import { parseServerConfig, serverUsage } from './config.js';

/** `beacon server`: the registry, until SIGTERM/SIGINT (exit codes: contract/command.ts). */
export function main(argv: string[]): Promise<void> {
  return runCommand('server', argv, {
    parse: parseServerConfig,
    usage: serverUsage,
    async start(config) {
      const beacon = await startBeacon(config);
      return { log: beacon.app.log, close: () => beacon.close(), reload: () => beacon.reload() };
    },
  });
}
