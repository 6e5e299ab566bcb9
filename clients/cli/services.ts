import { type CliCommand, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { json, table } from './output.js';

export const servicesCommand: CliCommand<typeof registryFlags, Record<string, never>> = {
  name: 'services',
  synopsis: '[--json]',
  about: 'Lists the registered services with their instance counts by status (GET /v1/services).',
  operands: {},
  flags: registryFlags,
  async run(flags) {
    const { services: list } = await withRegistry(flags, (api) => api.services());
    if (flags.json) return json(list);
    if (list.length === 0) return 'no services are registered\n';
    return table(
      ['NAME', 'INSTANCES', 'PASSING', 'WARNING', 'CRITICAL', 'MAINTENANCE'],
      list.map((service) => [service.name, ...[service.instances, service.passing, service.warning, service.critical, service.maintenance].map(String)]),
    );
  },
};

/** `beacon services` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, servicesCommand);
}
