import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One flag as a command's --help prints it: `  --dns-ttl   TTL … (default 5; env BEACON_DNS_TTL)`. */
export interface HelpFlag {
  /** `default` with its value, or how the flag is given instead. */
  origin: { kind: 'default'; value: string } | { kind: 'required' | 'switch' | 'repeatable' | 'none' };
  env?: string;
}

/** Each command's flags, by the command as typed (`beacon server`, `npm run demo`). */
export type CommandHelp = Map<string, Map<string, HelpFlag>>;

/** Parses the flag lines of a --help text. */
export function parseHelpFlags(text: string): Map<string, HelpFlag> {
  const flags = new Map<string, HelpFlag>();
  for (const line of text.split('\n')) {
    const match = /^ {2}(--[a-z][a-z0-9-]*)\s.*\(([^()]*)\)\s*$/.exec(line);
    if (!match) continue;
    const [origin, env] = match[2]!.split('; ');
    const flag: HelpFlag = { origin: parseOrigin(origin!) };
    if (env?.startsWith('env ')) flag.env = env.slice('env '.length);
    flags.set(match[1]!, flag);
  }
  return flags;
}

function parseOrigin(text: string): HelpFlag['origin'] {
  if (text === 'required') return { kind: 'required' };
  if (text === 'off unless given') return { kind: 'switch' };
  if (text === 'repeatable') return { kind: 'repeatable' };
  if (text === 'default none') return { kind: 'none' };
  if (text.startsWith('default ')) return { kind: 'default', value: text.slice('default '.length) };
  throw new Error(`a --help line ends in "(${text})", which is neither a default, required, a switch nor repeatable`);
}

/** The commands `beacon --help` lists. */
export function parseCommandList(text: string): string[] {
  const list = text.split(/\ncommands:\n/)[1] ?? '';
  return [...list.matchAll(/^ {2}([a-z][a-z0-9-]*)\s/gm)].map((match) => match[1]!);
}

/**
 * Runs `beacon --help`, then `beacon <command> --help` for every command it lists and the
 * `--help` of each checked npm script, as real processes, all at once.
 */
export async function readCommandHelp(root: string, scripts: Record<string, string>): Promise<CommandHelp> {
  const help = async (args: string[]) => (await run(process.execPath, args, { cwd: root, timeout: 30_000 })).stdout;
  const commands = parseCommandList(await help(['bin/beacon.js', '--help']));
  if (commands.length === 0) throw new Error('beacon --help lists no commands');
  const texts = await Promise.all([
    ...commands.map(async (command) => [`beacon ${command}`, await help(['bin/beacon.js', command, '--help'])] as const),
    ...Object.entries(scripts).map(async ([script, entry]) => [script, await help([entry, '--help'])] as const),
  ]);
  return new Map(texts.map(([command, text]) => [command, parseHelpFlags(text)]));
}
