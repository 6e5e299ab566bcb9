import { z } from 'zod';
import type { FlagTable } from '../../contract/command-line.js';
import { CheckStatus, Heartbeat } from '../../contract/instance.js';
import { checkBody, type CliCommand, instanceOperands, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { describeInstance, json } from './output.js';

const flags = {
  ...registryFlags,
  status: {
    default: '',
    help: `what the check found: ${CheckStatus.options.join(', ')} (none: passing)`,
    env: false,
    schema: z.union([z.literal(''), CheckStatus], { error: `--status must be one of ${CheckStatus.options.join(', ')}` }),
  },
  output: { default: '', help: 'free text shown with the instance, such as what the check printed', env: false, schema: z.string() },
} satisfies FlagTable;

export const heartbeatCommand: CliCommand<typeof flags, typeof instanceOperands> = {
  name: 'heartbeat',
  synopsis: 'NAME ID [--status passing|warning|critical] [--output TEXT] [--json]',
  about: "Renews an instance's TTL, optionally reporting a status (PUT /v1/services/NAME/instances/ID/heartbeat).",
  operands: instanceOperands,
  flags,
  async run(flags, { NAME, ID }) {
    const body = checkBody(Heartbeat, { ...(flags.status ? { status: flags.status } : {}), ...(flags.output ? { output: flags.output } : {}) }, { status: '--status', output: '--output' });
    const instance = await withRegistry(flags, (api) => api.heartbeat(NAME, ID, body));
    if (flags.json) return json(instance);
    return `${describeInstance(instance)}; next heartbeat due before ${instance.expiresAt}\n`;
  },
};

/** `beacon heartbeat NAME ID`, for scripts and cron jobs that stand in for a service's own health check. */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, heartbeatCommand);
}
