import { type CliCommand, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { json, table } from './output.js';

export const clusterCommand: CliCommand<typeof registryFlags, Record<string, never>> = {
  name: 'cluster',
  synopsis: '[--json]',
  about: 'Shows where the registry is kept and the nodes serving it (GET /v1/cluster).',
  operands: {},
  flags: registryFlags,
  async run(flags) {
    const view = await withRegistry(flags, (api) => api.cluster());
    if (flags.json) return json(view);
    const heading = `store ${view.store}, asked node ${view.node} at index ${view.index}\n`;
    return heading + table(['NODE', 'HTTP', 'LIVE'], view.nodes.map((node) => [node.name, node.http || '-', node.live ? 'yes' : 'no']));
  },
};

/** `beacon cluster` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, clusterCommand);
}
