import { z } from 'zod';
import { ConfigError, type FlagTable } from '../../contract/command-line.js';
import { InstanceRegistration } from '../../contract/instance.js';
import { checkBody, type CliCommand, instanceOperands, registryFlags, optionalWholeNumberFlag, runCliCommand, wholeNumberFlag, withRegistry } from './cli-command.js';
import { describeInstance, json } from './output.js';

const flags = {
  ...registryFlags,
  address: { help: 'IPv4 or IPv6 literal the instance is reachable at', env: false, schema: z.string({ error: '--address is required' }) },
  port: { help: 'its port, 1-65535', env: false, schema: wholeNumberFlag('--port') },
  weight: { default: '', help: 'SRV weight, 0-65535; the registry uses 1 when left out', env: false, schema: optionalWholeNumberFlag('--weight') },
  tag: { help: 'a tag (a DNS label), repeat for several', multiple: true, schema: z.string() },
  meta: {
    help: 'a KEY=VALUE pair, repeat for several',
    multiple: true,
    schema: z
      .string()
      .regex(/^[^=]+=/, '--meta must be KEY=VALUE')
      .transform((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const),
  },
  ttl: { default: '', help: 'seconds without a heartbeat before it turns critical; the registry uses 15 when left out', env: false, schema: optionalWholeNumberFlag('--ttl') },
  'deregister-after': {
    default: '',
    help: 'seconds it may stay critical before it is removed; the registry uses 300 when left out',
    env: false,
    schema: optionalWholeNumberFlag('--deregister-after'),
  },
} satisfies FlagTable;

/** A TTL that forgives two missed runs of a job cron starts every minute. */
const CRON_TTL = 180;

/** Registration fields by the flag that sets them, for error messages. */
const FLAG_OF = { address: '--address', port: '--port', weight: '--weight', tags: '--tag', meta: '--meta', ttl: '--ttl', deregisterAfter: '--deregister-after' };

export const registerCommand: CliCommand<typeof flags, typeof instanceOperands> = {
  name: 'register',
  synopsis: 'NAME ID --address A --port P [--weight W] [--tag T]... [--meta K=V]... [--ttl S] [--deregister-after S] [--json]',
  about: 'Registers an instance, or replaces its registration (PUT /v1/services/NAME/instances/ID).',
  operands: instanceOperands,
  flags,
  async run(flags, { NAME, ID }) {
    const meta: Record<string, string> = {};
    for (const [key, value] of flags.meta) {
      if (key in meta) throw new ConfigError(`--meta gives ${key} twice`);
      meta[key] = value;
    }
    const registration = checkBody(
      InstanceRegistration,
      {
        address: flags.address,
        port: flags.port,
        ...(flags.weight !== undefined ? { weight: flags.weight } : {}),
        ...(flags.tag.length > 0 ? { tags: flags.tag } : {}),
        ...(flags.meta.length > 0 ? { meta } : {}),
        ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
        ...(flags['deregister-after'] !== undefined ? { deregisterAfter: flags['deregister-after'] } : {}),
      },
      FLAG_OF,
    );
    const instance = await withRegistry(flags, (api) => api.register(NAME, ID, registration));
    if (flags.json) return json(instance);
    return [
      `registered ${describeInstance(instance)}`,
      // The CLI sends no heartbeats: without them the instance turns critical after its TTL.
      `without a heartbeat it turns critical ${instance.ttl}s from now and is removed ${instance.deregisterAfter}s later:`,
      `keep it alive with \`beacon heartbeat ${NAME} ${ID}\` every ${Math.max(1, Math.floor(instance.ttl / 3))}s${instance.ttl < CRON_TTL ? ` (from cron, register with --ttl ${CRON_TTL} or more)` : ''}`,
      '',
    ].join('\n');
  },
};

/** `beacon register NAME ID --address A --port P` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, registerCommand);
}
