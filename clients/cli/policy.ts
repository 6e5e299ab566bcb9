import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { checkedFlag, ConfigError, type FlagTable } from '../../contract/command-line.js';
import { ServiceName } from '../../contract/instance.js';
import { TrafficPolicy } from '../../contract/traffic-policy.js';
import { RegistryClientError } from '../registry/errors.js';
import { type CliCommand, registryFlags, runCliCommand, withRegistry } from './cli-command.js';
import { json } from './output.js';

const flags = {
  ...registryFlags,
  file: { default: '', help: 'with set: the policy, a JSON file ("-": standard input)', env: false, schema: z.string() },
} satisfies FlagTable;

const operands = {
  ACTION: z.enum(['get', 'set', 'delete'], { error: 'ACTION must be get, set or delete' }),
  NAME: checkedFlag('NAME', ServiceName),
};

export const policyCommand: CliCommand<typeof flags, typeof operands> = {
  name: 'policy',
  synopsis: 'get|set|delete NAME [--file policy.json] [--json]',
  about: "Reads, sets or removes a service's traffic policy (GET, PUT, DELETE /v1/services/NAME/policy); every beacon proxy of the service follows it.",
  operands,
  flags,
  async run(flags, { ACTION, NAME }) {
    if (ACTION !== 'set' && flags.file !== '') throw new ConfigError(`--file goes with set, not ${ACTION}`);
    if (ACTION === 'get') {
      const { policy } = await withRegistry(flags, (api) => api.policy(NAME));
      if (!policy) throw new RegistryClientError('rejected', `service "${NAME}" has no traffic policy`, { status: 404 });
      // Indented, so the output can be edited and set again.
      return flags.json ? json(policy) : `${JSON.stringify(policy, null, 2)}\n`;
    }
    if (ACTION === 'delete') {
      const existed = await withRegistry(flags, (api) => api.deletePolicy(NAME));
      if (!existed) throw new RegistryClientError('rejected', `service "${NAME}" has no traffic policy`, { status: 404 });
      return flags.json ? '' : `removed the traffic policy of ${NAME}\n`;
    }
    const policy = await readPolicy(flags.file);
    const set = await withRegistry(flags, (api) => api.setPolicy(NAME, policy));
    return flags.json ? json(set) : `set the traffic policy of ${NAME}\n`;
  },
};

/** The policy in a file, checked with the registry's own schema so a mistake names its field before anything is sent. */
async function readPolicy(file: string): Promise<TrafficPolicy> {
  if (file === '') throw new ConfigError('set needs --file policy.json (or --file - for standard input)');
  let text: string;
  try {
    text = file === '-' ? await readStream(process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--file ${file}: is not valid JSON (${(error as Error).message})`);
  }
  const result = TrafficPolicy.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? `${issue.path.join('.')} ` : '';
    throw new ConfigError(`--file ${file}: ${field}${issue.message}`);
  }
  return result.data;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** `beacon policy get|set|delete NAME` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, policyCommand);
}
