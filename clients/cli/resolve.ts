import { z } from 'zod';
import { checkedFlag, domainFlag, type FlagTable, hostPortFlag } from '../../contract/command-line.js';
import { ServiceName, Tag } from '../../contract/instance.js';
import { DnsExchange, DnsLookupError } from '../dns/dns-exchange.js';
import { SrvResolver } from '../dns/srv-resolver.js';
import { type CliCommand, runCliCommand } from './cli-command.js';
import { json, table } from './output.js';

const TYPES = ['srv', 'a', 'aaaa'] as const;

const flags = {
  tag: { default: '', help: 'only instances carrying this tag', env: false, schema: checkedFlag('--tag', Tag, { optional: true }) },
  type: { default: 'srv', help: 'srv (targets with ports and addresses), a or aaaa', env: false, schema: z.enum(TYPES, { error: '--type must be srv, a or aaaa' }) },
  dns: { default: '127.0.0.1:8600', help: "Beacon's DNS listener, HOST:PORT", schema: hostPortFlag('--dns') },
  domain: { default: 'beacon.internal', help: 'the zone Beacon serves (its --domain)', schema: domainFlag('--domain') },
} satisfies FlagTable;

const operands = { NAME: checkedFlag('NAME', ServiceName) };

const TYPE_CODES = { A: 1, AAAA: 28 } as const;

export const resolveCommand: CliCommand<typeof flags, typeof operands> = {
  name: 'resolve',
  synopsis: 'NAME [--tag T] [--type srv|a|aaaa] [--dns HOST:PORT] [--domain D] [--json]',
  about: "Looks a service's healthy instances up in Beacon's DNS, as a client would (no HTTP).",
  operands,
  flags,
  async run(flags, { NAME }) {
    const tag = flags.tag || undefined;
    if (flags.type === 'srv') {
      const resolver = new SrvResolver({ host: flags.dns.host, port: flags.dns.port, domain: flags.domain, timeoutMs: flags.timeout });
      const targets = await resolver.resolve(NAME, tag);
      if (flags.json) return json(targets);
      return table(
        ['PRIORITY', 'WEIGHT', 'PORT', 'TARGET', 'ADDRESS', 'TTL'],
        targets.map((target) => [String(target.priority), String(target.weight), String(target.port), target.target, target.address, String(target.ttl)]),
      );
    }
    // `<tag>.<service>.service.<domain>`: the A/AAAA names (docs/dns.md).
    const name = `${tag ? `${tag}.` : ''}${NAME}.service.${flags.domain}`;
    const type = flags.type === 'a' ? 'A' : 'AAAA';
    const message = await new DnsExchange(flags.dns, flags.timeout).ask(name, type);
    const records = message.answers
      .filter((record) => record.type === TYPE_CODES[type] && record.address !== undefined)
      .map((record) => ({ name: record.name, address: record.address!, ttl: record.ttl }));
    if (records.length === 0) throw new DnsLookupError('ENODATA', `${type} ${name}: no records (no healthy instance with an ${type === 'A' ? 'IPv4' : 'IPv6'} address)`);
    if (flags.json) return json(records);
    return table(['ADDRESS', 'TTL'], records.map((record) => [record.address, String(record.ttl)]));
  },
};

/** `beacon resolve NAME` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, resolveCommand);
}
