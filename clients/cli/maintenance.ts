import { z } from 'zod';
import { ConfigError, type FlagTable, switchFlag } from '../../contract/command-line.js';
import { MaintenanceChange } from '../../contract/instance.js';
import { checkBody, type CliCommand, instanceOperands, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { describeInstance, json } from './output.js';

const flags = {
  ...registryFlags,
  enable: { ...switchFlag('--enable', 'take the instance out of every answer'), env: false },
  disable: { ...switchFlag('--disable', 'put it back'), env: false },
  reason: { default: '', help: 'why, shown with the instance (with --enable)', env: false, schema: z.string() },
} satisfies FlagTable;

export const maintenanceCommand: CliCommand<typeof flags, typeof instanceOperands> = {
  name: 'maintenance',
  synopsis: 'NAME ID --enable|--disable [--reason R] [--json]',
  about: 'Turns maintenance on or off for an instance (PUT /v1/services/NAME/instances/ID/maintenance).',
  operands: instanceOperands,
  flags,
  async run(flags, { NAME, ID }) {
    if (flags.enable === flags.disable) throw new ConfigError('give exactly one of --enable and --disable');
    const change = checkBody(MaintenanceChange, { enabled: flags.enable, ...(flags.reason ? { reason: flags.reason } : {}) }, { reason: '--reason' });
    const instance = await withRegistry(flags, (api) => api.maintenance(NAME, ID, change));
    if (flags.json) return json(instance);
    return `${flags.enable ? 'maintenance on' : 'maintenance off'}: ${describeInstance(instance)}\n`;
  },
};

/** `beacon maintenance NAME ID --enable|--disable` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, maintenanceCommand);
}
