import { checkedFlag, type FlagTable, switchFlag } from '../../contract/command-line.js';
import { ServiceName, Tag } from '../../contract/instance.js';
import { type CliCommand, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { age, json, table } from './output.js';

const flags = {
  ...registryFlags,
  healthy: { ...switchFlag('--healthy', 'only passing and warning instances'), env: false },
  tag: { default: '', help: 'only instances carrying this tag', env: false, schema: checkedFlag('--tag', Tag, { optional: true }) },
} satisfies FlagTable;

const operands = { NAME: checkedFlag('NAME', ServiceName) };

export const instancesCommand: CliCommand<typeof flags, typeof operands> = {
  name: 'instances',
  synopsis: 'NAME [--healthy] [--tag T] [--json]',
  about: "Lists a service's instances, sorted by id (GET /v1/services/NAME/instances).",
  operands,
  flags,
  async run(flags, { NAME }) {
    const query = { healthy: flags.healthy, ...(flags.tag ? { tag: flags.tag } : {}) };
    const { instances: list } = await withRegistry(flags, (api) => api.instances(NAME, query));
    if (flags.json) return json(list);
    if (list.length === 0) {
      const filters = [flags.healthy ? '--healthy' : '', flags.tag ? `--tag ${flags.tag}` : ''].filter(Boolean).join(' ');
      return filters ? `no instance of ${NAME} matches ${filters}\n` : `no instances of ${NAME} are registered\n`;
    }
    const now = Date.now();
    return table(
      ['ID', 'ADDRESS', 'PORT', 'WEIGHT', 'STATUS', 'TAGS', 'HEARTBEAT', 'OUTPUT'],
      list.map((instance) => [
        instance.id,
        instance.address,
        String(instance.port),
        String(instance.weight),
        instance.status,
        instance.tags.join(',') || '-',
        age(instance.lastHeartbeatAt, now),
        instance.status === 'maintenance' ? (instance.maintenanceReason ?? '') : instance.output,
      ]),
    );
  },
};

/** `beacon instances NAME` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, instancesCommand);
}
